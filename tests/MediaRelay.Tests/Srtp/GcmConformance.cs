using System.Security.Cryptography;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Tests.Srtp;

/// <summary>
/// What every AES-GCM implementation the relay uses must do, checked against the runtime's <see cref="AesGcm"/>: the
/// same bytes and tag for every length, in place and not, and a refusal for any changed bit that leaves nothing
/// behind.
/// </summary>
internal static class GcmConformance
{
    public static void MatchesTheRuntime(Func<byte[], IGcmCipher> create, int keyLength, IEnumerable<int> lengths, int[] aadLengths)
    {
        var random = new Random(keyLength);
        var key = Bytes(random, keyLength);
        using var ours = create(key);
        using var runtime = new AesGcm(key, 16);
        var round = 0;
        foreach (var length in lengths)
        {
            var aadLength = aadLengths[round++ % aadLengths.Length];
            var nonce = Bytes(random, 12);
            var plaintext = Bytes(random, length);
            var aad = Bytes(random, aadLength);

            var expected = new byte[length];
            var expectedTag = new byte[16];
            runtime.Encrypt(nonce, plaintext, expected, expectedTag, aad);

            // In place at an odd offset, as a packet's payload sits after its header.
            var packet = new byte[length + 7];
            plaintext.CopyTo(packet, 7);
            var payload = packet.AsSpan(7);
            var tag = new byte[16];
            ours.Encrypt(nonce, payload, payload, tag, aad);
            Assert.Equal(expected, payload.ToArray());
            Assert.Equal(expectedTag, tag);

            Assert.True(ours.TryDecrypt(nonce, payload, tag, payload, aad));
            Assert.Equal(plaintext, payload.ToArray());

            // And into a separate buffer: what the runtime encrypted, we decrypt.
            var output = new byte[length];
            Assert.True(ours.TryDecrypt(nonce, expected, expectedTag, output, aad));
            Assert.Equal(plaintext, output);
        }
    }

    public static void RefusesAnyChangeAndKeepsWorking(Func<byte[], IGcmCipher> create)
    {
        var random = new Random(7);
        var key = Bytes(random, 16);
        using var gcm = create(key);
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
        Assert.False(Accepts(nonce, ciphertext, Flip(tag, 0), aad));
        Assert.False(Accepts(nonce, Flip(ciphertext, 0), tag, aad));
        Assert.False(Accepts(nonce, Flip(ciphertext, 299), tag, aad));
        Assert.False(Accepts(nonce, ciphertext, tag, Flip(aad, 11)));
        Assert.False(Accepts(nonce, ciphertext, tag, aad[..11]));
        Assert.False(Accepts(Flip(nonce, 0), ciphertext, tag, aad));
        Assert.False(Accepts(Flip(nonce, 11), ciphertext, tag, aad));
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

    public static void RejectsWrongSizes(Func<byte[], IGcmCipher> create)
    {
        using var gcm = create(new byte[16]);
        Assert.Throws<ArgumentException>(() => gcm.Encrypt(new byte[11], new byte[4], new byte[4], new byte[16], []));
        Assert.Throws<ArgumentException>(() => gcm.Encrypt(new byte[12], new byte[4], new byte[3], new byte[16], []));
        Assert.Throws<ArgumentException>(() => gcm.TryDecrypt(new byte[12], new byte[4], new byte[12], new byte[4], []));
    }

    public static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
