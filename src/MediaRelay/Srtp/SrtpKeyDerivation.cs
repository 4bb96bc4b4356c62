using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// The SRTP key derivation function, AES in counter mode as a PRF (RFC 3711 §4.3.1 and §4.3.3), with a
/// key derivation rate of 0 (the only rate DTLS-SRTP uses, RFC 5764 §4.1.2), so r = index DIV kdr = 0.
/// </summary>
internal static class SrtpKeyDerivation
{
    // RFC 3711 §4.3.1 / §4.3.2: labels for the SRTP and the SRTCP keys.
    public const byte SrtpEncryptionLabel = 0x00;
    public const byte SrtpAuthenticationLabel = 0x01;
    public const byte SrtpSaltLabel = 0x02;
    public const byte SrtcpEncryptionLabel = 0x03;
    public const byte SrtcpAuthenticationLabel = 0x04;
    public const byte SrtcpSaltLabel = 0x05;

    /// <summary>Derives the SRTP (labels 0, 1, 2) or SRTCP (labels 3, 4, 5) session keys of a master key.</summary>
    public static SrtpSessionKeys DeriveSessionKeys(SrtpProfile profile, ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> masterSalt, bool rtcp)
    {
        if (!profile.IsSupported())
        {
            throw new ArgumentOutOfRangeException(nameof(profile));
        }

        if (masterKey.Length != profile.KeyLength())
        {
            throw new ArgumentException($"Master key must be {profile.KeyLength()} bytes for {profile}.", nameof(masterKey));
        }

        if (masterSalt.Length != profile.SaltLength())
        {
            throw new ArgumentException($"Master salt must be {profile.SaltLength()} bytes for {profile}.", nameof(masterSalt));
        }

        byte labelBase = rtcp ? SrtcpEncryptionLabel : SrtpEncryptionLabel;
        var encryptionKey = new byte[profile.KeyLength()];
        var authenticationKey = new byte[profile.AuthKeyLength()];
        var salt = new byte[profile.SaltLength()];
        using var aes = Aes.Create();
        aes.Key = masterKey.ToArray();
        Derive(aes, masterSalt, labelBase, encryptionKey);
        Derive(aes, masterSalt, (byte)(labelBase + 1), authenticationKey);
        Derive(aes, masterSalt, (byte)(labelBase + 2), salt);
        return new SrtpSessionKeys(encryptionKey, authenticationKey, salt);
    }

    /// <summary>
    /// One PRF output: x = (label ‖ r) XOR master_salt with r = 0, so the label lands in byte 7 of the
    /// 14-byte salt; the AES-CM IV is x · 2^16, i.e. bytes 14–15 count blocks (RFC 3711 §4.3.1, §4.3.3).
    /// A 12-byte GCM master salt is zero-padded on the right to 14 bytes before this (RFC 7714 §11, as libsrtp does).
    /// </summary>
    public static void Derive(Aes aes, ReadOnlySpan<byte> masterSalt, byte label, Span<byte> output)
    {
        if (output.IsEmpty)
        {
            return;
        }

        Span<byte> block = stackalloc byte[16];
        Span<byte> keystream = stackalloc byte[16];
        for (int offset = 0, counter = 0; offset < output.Length; offset += 16, counter++)
        {
            block.Clear();
            masterSalt.CopyTo(block);
            block[7] ^= label;
            BinaryPrimitives.WriteUInt16BigEndian(block[14..], (ushort)counter);
            aes.EncryptEcb(block, keystream, PaddingMode.None);
            int take = Math.Min(16, output.Length - offset);
            keystream[..take].CopyTo(output[offset..]);
        }
    }
}
