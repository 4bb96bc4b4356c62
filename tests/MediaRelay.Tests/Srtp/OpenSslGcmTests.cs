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
    public void Encrypts_and_decrypts_as_the_runtime_does_for_every_length_and_in_place(int keyLength)
    {
        var random = new Random(keyLength);
        var key = Bytes(random, keyLength);
        using var ours = OpenSslGcm.TryCreate(key)!;
        using var runtime = new AesGcm(key, 16);
        foreach (var length in new[] { 0, 1, 15, 16, 17, 31, 100, 160, 1024, 1188, 1500 })
        {
            foreach (var aadLength in new[] { 0, 8, 12, 13, 64, 200 })
            {
                var nonce = Bytes(random, 12);
                var plaintext = Bytes(random, length);
                var aad = Bytes(random, aadLength);

                var expected = new byte[length];
                var expectedTag = new byte[16];
                runtime.Encrypt(nonce, plaintext, expected, expectedTag, aad);

                // In place, as the transform uses it: the buffer holds the plaintext and receives the ciphertext.
                var buffer = (byte[])plaintext.Clone();
                var tag = new byte[16];
                ours.Encrypt(nonce, buffer, buffer, tag, aad);
                Assert.Equal(expected, buffer);
                Assert.Equal(expectedTag, tag);

                Assert.True(ours.TryDecrypt(nonce, buffer, tag, buffer, aad));
                Assert.Equal(plaintext, buffer);

                // And into a separate buffer: what the runtime encrypted, we decrypt.
                var output = new byte[length];
                Assert.True(ours.TryDecrypt(nonce, expected, expectedTag, output, aad));
                Assert.Equal(plaintext, output);
            }
        }
    }

    [Fact]
    public void Refuses_a_changed_tag_ciphertext_aad_or_nonce_and_keeps_working_after()
    {
        var random = new Random(7);
        var key = Bytes(random, 16);
        using var gcm = OpenSslGcm.TryCreate(key)!;
        var nonce = Bytes(random, 12);
        var aad = Bytes(random, 12);
        var plaintext = Bytes(random, 300);
        var ciphertext = new byte[300];
        var tag = new byte[16];
        gcm.Encrypt(nonce, plaintext, ciphertext, tag, aad);

        bool Accepts(byte[] n, byte[] c, byte[] t, byte[] a) => gcm.TryDecrypt(n, c, t, new byte[c.Length], a);
        static byte[] Flip(byte[] bytes, int at)
        {
            var copy = (byte[])bytes.Clone();
            copy[at] ^= 0x01;
            return copy;
        }

        Assert.False(Accepts(nonce, ciphertext, Flip(tag, 15), aad));
        Assert.False(Accepts(nonce, Flip(ciphertext, 0), tag, aad));
        Assert.False(Accepts(nonce, Flip(ciphertext, 299), tag, aad));
        Assert.False(Accepts(nonce, ciphertext, tag, Flip(aad, 11)));
        Assert.False(Accepts(Flip(nonce, 0), ciphertext, tag, aad));
        Assert.False(Accepts(nonce, ciphertext[..299], tag, aad));

        // What a refused packet decrypted to is not left in the buffer (decryption runs before the tag is checked).
        var inPlace = Flip(ciphertext, 5);
        Assert.False(gcm.TryDecrypt(nonce, inPlace, tag, inPlace, aad));
        Assert.All(inPlace, b => Assert.Equal(0, b));

        // A refusal leaves nothing behind: the next packet with the right tag is accepted, for this key and another.
        Assert.True(Accepts(nonce, ciphertext, tag, aad));
        using var runtime = new AesGcm(key, 16);
        var check = new byte[300];
        runtime.Decrypt(nonce, ciphertext, tag, check, aad);
        Assert.Equal(plaintext, check);
    }

    [Fact]
    public void Rejects_wrong_sizes_with_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => OpenSslGcm.TryCreate(new byte[24]));
        using var gcm = OpenSslGcm.TryCreate(new byte[16])!;
        Assert.Throws<ArgumentException>(() => gcm.Encrypt(new byte[11], new byte[4], new byte[4], new byte[16], []));
        Assert.Throws<ArgumentException>(() => gcm.Encrypt(new byte[12], new byte[4], new byte[3], new byte[16], []));
        Assert.Throws<ArgumentException>(() => gcm.TryDecrypt(new byte[12], new byte[4], new byte[12], new byte[4], []));
    }

    [Fact]
    public void A_disposed_instance_throws_instead_of_touching_freed_memory()
    {
        var gcm = OpenSslGcm.TryCreate(new byte[16])!;
        gcm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gcm.Encrypt(new byte[12], new byte[4], new byte[4], new byte[16], []));
    }

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
