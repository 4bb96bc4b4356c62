using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Tests.Dtls;

public sealed class DtlsSrtpKeysTests
{
    [Theory]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80, 60)]
    [InlineData(SrtpProfile.AeadAes128Gcm, 56)]
    [InlineData(SrtpProfile.AeadAes256Gcm, 88)]
    public void KeyingMaterialIsSplitAsRfc5764Section4_2Says(Enum profileCase, int total)
    {
        var profile = (SrtpProfile)profileCase;
        Assert.Equal(total, DtlsSrtpKeys.KeyingMaterialLength(profile));
        byte[] material = Enumerable.Range(0, total).Select(i => (byte)i).ToArray();
        int k = profile.KeyLength();
        int s = profile.SaltLength();

        DtlsSrtpKeys client = DtlsSrtpKeys.FromKeyingMaterial(profile, DtlsRole.Client, material, []);
        DtlsSrtpKeys server = DtlsSrtpKeys.FromKeyingMaterial(profile, DtlsRole.Server, material, []);

        // client_write_key | server_write_key | client_write_salt | server_write_salt
        Assert.Equal(material[..k], client.LocalMasterKey.ToArray());
        Assert.Equal(material[k..(2 * k)], client.RemoteMasterKey.ToArray());
        Assert.Equal(material[(2 * k)..((2 * k) + s)], client.LocalMasterSalt.ToArray());
        Assert.Equal(material[((2 * k) + s)..], client.RemoteMasterSalt.ToArray());
        Assert.Equal(client.LocalMasterKey.ToArray(), server.RemoteMasterKey.ToArray());
        Assert.Equal(client.RemoteMasterSalt.ToArray(), server.LocalMasterSalt.ToArray());
    }

    [Fact]
    public void WrongMaterialLengthIsRefused() =>
        Assert.Throws<ArgumentException>(() => DtlsSrtpKeys.FromKeyingMaterial(SrtpProfile.AeadAes128Gcm, DtlsRole.Server, new byte[60], []));
}
