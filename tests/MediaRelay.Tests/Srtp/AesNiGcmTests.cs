using System.Security.Cryptography;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Tests.Srtp;

/// <summary>
/// The in-process AES-GCM gives the known answers of the GCM specification's test cases and what the runtime's
/// <see cref="AesGcm"/> gives, byte for byte, for every length and alignment SRTP uses, and refuses what it refuses.
/// (The RFC 7714 vectors go through it in <c>SrtpRfcVectorTests</c>.)
/// </summary>
public sealed class AesNiGcmTests
{
    [Fact]
    public void Is_available_on_the_processors_the_relay_is_measured_on()
    {
        // The server machines and test machines are x86-64 with AES-NI and PCLMULQDQ: the path the load tests measure.
        // (Elsewhere the transform uses OpenSSL.)
        Assert.Equal(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64, AesNiGcm.IsSupported);
    }

    // McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 2, 3, 4 (AES-128) and 14, 15, 16 (AES-256).
    [Theory]
    [InlineData("00000000000000000000000000000000", "000000000000000000000000", "00000000000000000000000000000000", "",
        "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf")]
    [InlineData("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        "4d5c2af327cd64a62cf35abd2ba6fab4")]
    [InlineData("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        "5bc94fbc3221a5db94fae95ae7121a47")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
        "00000000000000000000000000000000", "", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919")]
    [InlineData("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
        "b094dac5d93471bdec1a502270e3cc6c")]
    [InlineData("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        "76fc6ece0f4e1768cddf8853bb2d551b")]
    public void Gives_the_specifications_known_answers(string key, string nonce, string plaintext, string aad, string ciphertext, string tag)
    {
        foreach (var wide in new[] { true, false })
        {
            using var gcm = AesNiGcm.TryCreate(Convert.FromHexString(key), wide)!;
            var buffer = Convert.FromHexString(plaintext);
            var written = new byte[16];
            gcm.Encrypt(Convert.FromHexString(nonce), buffer, buffer, written, Convert.FromHexString(aad));
            Assert.Equal(ciphertext, Convert.ToHexStringLower(buffer));
            Assert.Equal(tag, Convert.ToHexStringLower(written));

            Assert.True(gcm.TryDecrypt(Convert.FromHexString(nonce), buffer, written, buffer, Convert.FromHexString(aad)));
            Assert.Equal(plaintext, Convert.ToHexStringLower(buffer));
        }
    }

    [Theory]
    [InlineData(16, true)]
    [InlineData(32, true)]
    [InlineData(16, false)]
    [InlineData(32, false)]
    public void Encrypts_and_decrypts_as_the_runtime_does_for_every_length_and_in_place(int keyLength, bool wide)
    {
        using (var probe = AesNiGcm.TryCreate(new byte[keyLength], wide)!)
        {
            Assert.Equal(wide && AesNiGcm.IsWideSupported, probe.IsWide);
        }

        // Every length up to five groups of four blocks and a few beyond, so each tail and group boundary is crossed;
        // associated data of every length a header can have up to a block past a group.
        GcmConformance.MatchesTheRuntime(
            key => AesNiGcm.TryCreate(key, wide)!,
            keyLength,
            Enumerable.Range(0, 340).Concat([1024, 1187, 1188, 1500]),
            [0, 1, 8, 12, 13, 15, 16, 17, 20, 31, 32, 33, 64, 80, 200]);
    }

    [Fact]
    public void Counts_the_counter_past_a_byte_boundary_as_the_runtime_does()
    {

        // 300 blocks: the 32-bit counter's low byte wraps (block 254 onward), the only carry a packet can cause.
        var random = new Random(300);
        var key = GcmConformance.Bytes(random, 16);
        var nonce = GcmConformance.Bytes(random, 12);
        var plaintext = GcmConformance.Bytes(random, 300 * 16);
        using var ours = AesNiGcm.TryCreate(key)!;
        using var runtime = new AesGcm(key, 16);
        var expected = new byte[plaintext.Length];
        var expectedTag = new byte[16];
        runtime.Encrypt(nonce, plaintext, expected, expectedTag, ReadOnlySpan<byte>.Empty);
        var actual = new byte[plaintext.Length];
        var tag = new byte[16];
        ours.Encrypt(nonce, plaintext, actual, tag, []);
        Assert.Equal(expected, actual);
        Assert.Equal(expectedTag, tag);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Refuses_a_changed_tag_ciphertext_aad_or_nonce_and_keeps_working_after(bool wide) =>
        GcmConformance.RefusesAnyChangeAndKeepsWorking(key => AesNiGcm.TryCreate(key, wide)!);

    [Fact]
    public void Rejects_wrong_sizes_with_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => AesNiGcm.TryCreate(new byte[24]));
        GcmConformance.RejectsWrongSizes(key => AesNiGcm.TryCreate(key)!);
    }

    [Fact]
    public void A_disposed_instance_throws_instead_of_using_cleared_keys()
    {
        var gcm = AesNiGcm.TryCreate(new byte[16])!;
        gcm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gcm.Encrypt(new byte[12], new byte[4], new byte[4], new byte[16], []));
        Assert.Throws<ObjectDisposedException>(() => gcm.TryDecrypt(new byte[12], new byte[4], new byte[16], new byte[4], []));
    }
}
