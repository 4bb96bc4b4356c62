using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// AEAD_AES_128_GCM and AEAD_AES_256_GCM for SRTP and SRTCP (RFC 7714). One cipher per key set, reused for every
/// packet; encryption and decryption happen in place (identical spans are allowed). The cipher is computed in the
/// process on the processor's AES instructions (<see cref="AesNiGcm"/>) where it has them, else OpenSSL's, called
/// directly (<see cref="OpenSslGcm"/>) where libcrypto 3 is available, else the runtime's <see cref="AesGcm"/>.
/// </summary>
internal sealed class AesGcmTransform : SrtpTransform
{
    private const int Tag = 16;

    private readonly AesNiGcm? _aesNi;
    private readonly OpenSslGcm? _openSsl;
    private readonly AesGcm? _gcm;
    private readonly byte[] _salt;
    private readonly byte[] _nonce = new byte[12];
    private byte[] _aad = new byte[64];

    public AesGcmTransform(SrtpSessionKeys keys)
    {
        _aesNi = AesNiGcm.TryCreate(keys.EncryptionKey);
        _openSsl = _aesNi is null ? OpenSslGcm.TryCreate(keys.EncryptionKey) : null;
        _gcm = _aesNi is null && _openSsl is null ? new AesGcm(keys.EncryptionKey, Tag) : null;
        _salt = keys.Salt;
    }

    public override int TagLength => Tag;

    // RFC 7714 §9: for GCM the tag precedes the E‖SRTCP-index word, which is last.
    public override int RtcpIndexOffsetFromEnd => 4;

    public override void ProtectRtp(Span<byte> packet, int length, int headerLength, uint ssrc, ulong index)
    {
        SetRtpNonce(ssrc, index);
        Span<byte> payload = packet[headerLength..length];

        // RFC 7714 §8.2: AAD is the RTP header including CSRCs and header extension.
        Encrypt(payload, packet.Slice(length, Tag), packet[..headerLength]);
    }

    public override bool TryUnprotectRtp(Span<byte> packet, int length, int headerLength, uint ssrc, ulong index)
    {
        SetRtpNonce(ssrc, index);
        Span<byte> ciphertext = packet[headerLength..(length - Tag)];
        return TryDecrypt(ciphertext, packet.Slice(length - Tag, Tag), packet[..headerLength]);
    }

    public override int ProtectRtcp(Span<byte> packet, int length, uint ssrc, uint index)
    {
        SetRtcpNonce(ssrc, index);
        uint indexWord = 0x8000_0000u | index;

        // RFC 7714 §9.2: AAD = first 8 bytes of the header ‖ E‖SRTCP index.
        Span<byte> aad = _aad.AsSpan(0, 12);
        packet[..8].CopyTo(aad);
        BinaryPrimitives.WriteUInt32BigEndian(aad[8..], indexWord);
        Span<byte> payload = packet[8..length];
        Encrypt(payload, packet.Slice(length, Tag), aad);
        BinaryPrimitives.WriteUInt32BigEndian(packet[(length + Tag)..], indexWord);
        return length + Tag + 4;
    }

    public override bool TryUnprotectRtcp(Span<byte> packet, int length, uint ssrc, uint indexWord, out int newLength)
    {
        newLength = 0;
        int end = length - Tag - 4;
        SetRtcpNonce(ssrc, indexWord & 0x7FFF_FFFFu);
        Span<byte> tag = packet.Slice(end, Tag);
        bool encrypted = (indexWord & 0x8000_0000u) != 0;

        // RFC 7714 §9.2 / §9.3: with E = 0 the whole packet is authenticated only, so it all goes into the AAD.
        int clear = encrypted ? 8 : end;
        if (_aad.Length < clear + 4)
        {
            _aad = new byte[Math.Max(clear + 4, _aad.Length * 2)];
        }

        Span<byte> aad = _aad.AsSpan(0, clear + 4);
        packet[..clear].CopyTo(aad);
        BinaryPrimitives.WriteUInt32BigEndian(aad[clear..], indexWord);
        if (!TryDecrypt(packet[clear..end], tag, aad))
        {
            return false;
        }

        newLength = end;
        return true;
    }

    private void Encrypt(Span<byte> payload, Span<byte> tag, ReadOnlySpan<byte> aad)
    {
        if (_aesNi is { } aesNi)
        {
            aesNi.Encrypt(_nonce, payload, payload, tag, aad);
        }
        else if (_openSsl is { } openSsl)
        {
            openSsl.Encrypt(_nonce, payload, payload, tag, aad);
        }
        else
        {
            _gcm!.Encrypt(_nonce, payload, payload, tag, aad);
        }
    }

    private bool TryDecrypt(Span<byte> ciphertext, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> aad)
    {
        if (_aesNi is { } aesNi)
        {
            return aesNi.TryDecrypt(_nonce, ciphertext, tag, ciphertext, aad);
        }

        if (_openSsl is { } openSsl)
        {
            return openSsl.TryDecrypt(_nonce, ciphertext, tag, ciphertext, aad);
        }

        try
        {
            _gcm!.Decrypt(_nonce, ciphertext, tag, ciphertext, aad);
            return true;
        }
        catch (CryptographicException)
        {
            // AesGcm reports a wrong tag only by throwing; forged packets are data, so translate to false.
            return false;
        }
    }

    // RFC 7714 §8.1: IV = (00 00 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt.
    private void SetRtpNonce(uint ssrc, ulong index)
    {
        Span<byte> nonce = _nonce;
        nonce[0] = 0;
        nonce[1] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(nonce[2..], ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[6..], (uint)(index >> 16));
        BinaryPrimitives.WriteUInt16BigEndian(nonce[10..], (ushort)index);
        XorSalt(nonce);
    }

    // RFC 7714 §9.1: IV = (00 00 ‖ SSRC ‖ 00 00 ‖ 0 ‖ 31-bit SRTCP index) XOR salt.
    private void SetRtcpNonce(uint ssrc, uint index)
    {
        Span<byte> nonce = _nonce;
        nonce[0] = 0;
        nonce[1] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(nonce[2..], ssrc);
        nonce[6] = 0;
        nonce[7] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(nonce[8..], index & 0x7FFF_FFFFu);
        XorSalt(nonce);
    }

    private void XorSalt(Span<byte> nonce)
    {
        for (int i = 0; i < 12; i++)
        {
            nonce[i] ^= _salt[i];
        }
    }

    public override void Dispose()
    {
        _aesNi?.Dispose();
        _openSsl?.Dispose();
        _gcm?.Dispose();
    }
}
