using Teletherapy.MediaRelay.Srtp;
using static Teletherapy.MediaRelay.Tests.Srtp.SrtpTestPackets;

namespace Teletherapy.MediaRelay.Tests.Srtp;

/// <summary>Known-answer tests from RFC 3711 Appendix B and RFC 7714 §16–17.</summary>
public sealed class SrtpRfcVectorTests
{
    [Fact]
    public void Rfc3711_B2_AesCmKeystream()
    {
        var keys = new SrtpSessionKeys(Hex("2B7E151628AED2A6ABF7158809CF4F3C"), new byte[20], Hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"));
        using var transform = new AesCmHmacSha1Transform(keys);

        // Keystream segment of 65282 blocks for SSRC 0, ROC 0, SEQ 0: XOR into zeros gives the keystream itself.
        var keystream = new byte[1044512];
        transform.ApplyKeystream(keystream, ssrc: 0, index: 0);

        Assert.Equal(
            Hex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0"),
            keystream[..48]);
        Assert.Equal(
            Hex("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44"),
            keystream[^48..]);
    }

    [Fact]
    public void Rfc3711_B3_KeyDerivation()
    {
        SrtpSessionKeys keys = SrtpKeyDerivation.DeriveSessionKeys(
            SrtpProfile.Aes128CmHmacSha1_80,
            Hex("E1F97A0D3E018BE0D64FA32C06DE4139"),
            Hex("0EC675AD498AFEEBB6960B3AABE6"),
            rtcp: false);

        Assert.Equal(Hex("C61E7A93744F39EE10734AFE3FF7A087"), keys.EncryptionKey);
        Assert.Equal(Hex("30CBBC08863D8C85D49DB34A9AE1"), keys.Salt);
        Assert.Equal(Hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"), keys.AuthenticationKey);
    }

    [Fact]
    public void Rfc3711_B3_LongerAuthKeyOutputContinuesTheKeystream()
    {
        // The appendix lists 94 bytes of label-1 output; the second and later blocks check the block counter.
        using var aes = System.Security.Cryptography.Aes.Create();
        aes.Key = Hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        var output = new byte[94];
        SrtpKeyDerivation.Derive(aes, Hex("0EC675AD498AFEEBB6960B3AABE6"), SrtpKeyDerivation.SrtpAuthenticationLabel, output);

        Assert.Equal(
            Hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
                + "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25"
                + "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"),
            output);
    }

    [Fact]
    public void SrtcpLabelsDeriveDifferentKeysThanSrtp()
    {
        byte[] key = Hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        byte[] salt = Hex("0EC675AD498AFEEBB6960B3AABE6");
        SrtpSessionKeys rtp = SrtpKeyDerivation.DeriveSessionKeys(SrtpProfile.Aes128CmHmacSha1_80, key, salt, rtcp: false);
        SrtpSessionKeys rtcp = SrtpKeyDerivation.DeriveSessionKeys(SrtpProfile.Aes128CmHmacSha1_80, key, salt, rtcp: true);

        Assert.NotEqual(rtp.EncryptionKey, rtcp.EncryptionKey);
        Assert.NotEqual(rtp.AuthenticationKey, rtcp.AuthenticationKey);
        Assert.NotEqual(rtp.Salt, rtcp.Salt);
    }

    [Fact]
    public void GcmKeyDerivationHasTwelveByteSaltAndNoAuthKey()
    {
        SrtpSessionKeys keys = SrtpKeyDerivation.DeriveSessionKeys(SrtpProfile.AeadAes256Gcm, new byte[32], new byte[12], rtcp: false);

        Assert.Equal(32, keys.EncryptionKey.Length);
        Assert.Equal(12, keys.Salt.Length);
        Assert.Empty(keys.AuthenticationKey);
    }

    public static TheoryData<Enum, string, string, string> Rfc7714Vectors() => new()
    {
        // RFC 7714 §16.1.1 (AES-128-GCM) and §16.2.1 (AES-256-GCM): RTP; §17.1.1 / §17.2.1: RTCP.
        {
            SrtpProfile.AeadAes128Gcm,
            "000102030405060708090a0b0c0d0e0f",
            "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
            "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4"
        },
        {
            SrtpProfile.AeadAes256Gcm,
            "000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f",
            "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
            "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4"
        },
    };

    private const string Rfc7714RtpPlaintext =
        "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573";

    private const string Rfc7714RtcpPlaintext =
        "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";

    private const string Rfc7714Salt = "517569642070726f2071756f";

    [Theory]
    [MemberData(nameof(Rfc7714Vectors))]
    public void Rfc7714_16_SrtpEncrypt(Enum profileCase, string key, string protectedRtp, string protectedRtcp)
    {
        var profile = (SrtpProfile)profileCase;
        _ = protectedRtcp;
        using SrtpContext context = Rfc7714Context(profile, key);
        byte[] plain = Hex(Rfc7714RtpPlaintext);
        var buffer = new byte[plain.Length + 16];
        plain.CopyTo(buffer, 0);

        Assert.True(context.TryProtectRtp(buffer, plain.Length, out int length));
        Assert.Equal(Hex(protectedRtp), buffer[..length]);
    }

    [Theory]
    [MemberData(nameof(Rfc7714Vectors))]
    public void Rfc7714_16_SrtpDecrypt(Enum profileCase, string key, string protectedRtp, string protectedRtcp)
    {
        var profile = (SrtpProfile)profileCase;
        _ = protectedRtcp;
        using SrtpContext context = Rfc7714Context(profile, key);
        byte[] buffer = Hex(protectedRtp);

        Assert.True(context.TryUnprotectRtp(buffer, buffer.Length, out int length));
        Assert.Equal(Hex(Rfc7714RtpPlaintext), buffer[..length]);
    }

    [Theory]
    [MemberData(nameof(Rfc7714Vectors))]
    public void Rfc7714_17_SrtcpEncrypt(Enum profileCase, string key, string protectedRtp, string protectedRtcp)
    {
        var profile = (SrtpProfile)profileCase;
        _ = protectedRtp;
        using SrtpContext context = Rfc7714Context(profile, key);
        context.SetNextRtcpIndex(0x4d617273, 0x5d4);
        byte[] plain = Hex(Rfc7714RtcpPlaintext);
        var buffer = new byte[plain.Length + 20];
        plain.CopyTo(buffer, 0);

        Assert.True(context.TryProtectRtcp(buffer, plain.Length, out int length));
        Assert.Equal(Hex(protectedRtcp), buffer[..length]);
    }

    [Theory]
    [MemberData(nameof(Rfc7714Vectors))]
    public void Rfc7714_17_SrtcpDecrypt(Enum profileCase, string key, string protectedRtp, string protectedRtcp)
    {
        var profile = (SrtpProfile)profileCase;
        _ = protectedRtp;
        using SrtpContext context = Rfc7714Context(profile, key);
        byte[] buffer = Hex(protectedRtcp);

        Assert.True(context.TryUnprotectRtcp(buffer, buffer.Length, out int length));
        Assert.Equal(Hex(Rfc7714RtcpPlaintext), buffer[..length]);
    }

    [Theory]
    [InlineData(SrtpProfile.AeadAes128Gcm, "000102030405060708090a0b0c0d0e0f", "841dd968 3dd78ec9 2ae58790 125f62b3")]
    [InlineData(SrtpProfile.AeadAes256Gcm, "000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f", "91db4afb feee5a97 8fab4393 ed2615fe")]
    public void Rfc7714_17_SrtcpAuthenticatedOnlyDecrypt(Enum profileCase, string key, string tag)
    {
        var profile = (SrtpProfile)profileCase;
        // E = 0: the packet stays in clear and is authenticated as a whole (RFC 7714 §9.3, §17.x.2).
        using SrtpContext context = Rfc7714Context(profile, key);
        byte[] buffer = Hex(Rfc7714RtcpPlaintext + tag + "000005d4");

        Assert.True(context.TryUnprotectRtcp(buffer, buffer.Length, out int length));
        Assert.Equal(Hex(Rfc7714RtcpPlaintext), buffer[..length]);

        byte[] tampered = Hex(Rfc7714RtcpPlaintext + tag + "000005d4");
        tampered[20] ^= 1;
        using SrtpContext fresh = Rfc7714Context(profile, key);
        Assert.False(fresh.TryUnprotectRtcp(tampered, tampered.Length, out _));
    }

    private static SrtpContext Rfc7714Context(SrtpProfile profile, string key)
    {
        // RFC 7714 §16 gives the session key and salt directly; SRTCP uses the same ones in §17.
        var keys = new SrtpSessionKeys(Hex(key), [], Hex(Rfc7714Salt));
        return new SrtpContext(profile, keys, keys);
    }
}
