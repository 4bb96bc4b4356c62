using System.Security.Cryptography;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Tests.Srtp;

/// <summary>
/// OpenSSL's AES-GCM called directly gives what the runtime's <see cref="AesGcm"/> gives, byte for byte, for every
/// length SRTP uses, and refuses what it refuses. (The RFC 7714 vectors go through it in <c>SrtpRfcVectorTests</c>.)
/// </summary>
public sealed class OpenSslGcmTests
{
    [Fact]
    public void Is_available_on_the_platforms_the_relay_is_shipped_for()
    {
        // The server image and test machines are Linux with OpenSSL 3: the direct path must be the one measured.
        Assert.Equal(OperatingSystem.IsLinux(), OpenSslGcm.IsSupported);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    public void Encrypts_and_decrypts_as_the_runtime_does_for_every_length_and_in_place(int keyLength) =>
        GcmConformance.MatchesTheRuntime(
            Create,
            keyLength,
            [0, 1, 15, 16, 17, 31, 100, 160, 1024, 1188, 1500],
            [0, 8, 12, 13, 64, 200]);

    [Fact]
    public void Refuses_a_changed_tag_ciphertext_aad_or_nonce_and_keeps_working_after() =>
        GcmConformance.RefusesAnyChangeAndKeepsWorking(Create);

    [Fact]
    public void Rejects_wrong_sizes_with_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => OpenSslGcm.TryCreate(new byte[24]));
        GcmConformance.RejectsWrongSizes(Create);
    }

    [Fact]
    public void A_disposed_instance_throws_instead_of_touching_freed_memory()
    {
        var gcm = OpenSslGcm.TryCreate(new byte[16])!;
        gcm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gcm.Encrypt(new byte[12], new byte[4], new byte[4], new byte[16], []));
    }

    private static IGcmCipher Create(byte[] key) => OpenSslGcm.TryCreate(key)!;
}
