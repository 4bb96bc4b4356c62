using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1 and §4.2.1). The keystream of a whole packet comes from one
/// ECB call over all its counter blocks; the ECB transform is created once because the one-shot
/// <c>Aes.EncryptEcb</c> creates a native context (and allocates) on every call.
/// </summary>
internal sealed class AesCmHmacSha1Transform : SrtpTransform
{
    private const int Tag = 10;
    private const int BlockSize = 16;

    private readonly Aes _aes;
    private readonly ICryptoTransform _ecb;
    private readonly IncrementalHash _hmac;
    private readonly byte[] _salt;
    private readonly byte[] _mac = new byte[20];
    private byte[] _counterBlocks = new byte[2048];
    private byte[] _keystream = new byte[2048];

    public AesCmHmacSha1Transform(SrtpSessionKeys keys)
    {
        _aes = Aes.Create();
        _aes.Key = keys.EncryptionKey;
        _aes.Mode = CipherMode.ECB;
        _aes.Padding = PaddingMode.None;
        _ecb = _aes.CreateEncryptor();
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, keys.AuthenticationKey);
        _salt = keys.Salt;
    }

    public override int TagLength => Tag;

    // RFC 3711 §3.4: E‖index comes first, the tag last.
    public override int RtcpIndexOffsetFromEnd => Tag + 4;

    public override void ProtectRtp(Span<byte> packet, int length, int headerLength, uint ssrc, ulong index)
    {
        ApplyKeystream(packet[headerLength..length], ssrc, index);
        ComputeRtpTag(packet[..length], (uint)(index >> 16));
        _mac.AsSpan(0, Tag).CopyTo(packet[length..]);
    }

    public override bool TryUnprotectRtp(Span<byte> packet, int length, int headerLength, uint ssrc, ulong index)
    {
        int authenticated = length - Tag;
        ComputeRtpTag(packet[..authenticated], (uint)(index >> 16));

        // RFC 3711 §3.3 step 5: authenticate before decrypting; constant time so the tag cannot be guessed byte by byte.
        if (!CryptographicOperations.FixedTimeEquals(_mac.AsSpan(0, Tag), packet.Slice(authenticated, Tag)))
        {
            return false;
        }

        ApplyKeystream(packet[headerLength..authenticated], ssrc, index);
        return true;
    }

    public override int ProtectRtcp(Span<byte> packet, int length, uint ssrc, uint index)
    {
        ApplyKeystream(packet[SrtpPacketLayout.RtcpHeaderLength..length], ssrc, index);
        BinaryPrimitives.WriteUInt32BigEndian(packet[length..], 0x8000_0000u | index);

        // RFC 3711 §3.4: the authenticated portion includes the E flag and the SRTCP index.
        _hmac.AppendData(packet[..(length + 4)]);
        _hmac.GetHashAndReset(_mac);
        _mac.AsSpan(0, Tag).CopyTo(packet[(length + 4)..]);
        return length + 4 + Tag;
    }

    public override bool TryUnprotectRtcp(Span<byte> packet, int length, uint ssrc, uint indexWord, out int newLength)
    {
        newLength = 0;
        int authenticated = length - Tag;
        _hmac.AppendData(packet[..authenticated]);
        _hmac.GetHashAndReset(_mac);
        if (!CryptographicOperations.FixedTimeEquals(_mac.AsSpan(0, Tag), packet.Slice(authenticated, Tag)))
        {
            return false;
        }

        int end = authenticated - 4;
        if ((indexWord & 0x8000_0000u) != 0)
        {
            ApplyKeystream(packet[SrtpPacketLayout.RtcpHeaderLength..end], ssrc, indexWord & 0x7FFF_FFFFu);
        }

        newLength = end;
        return true;
    }

    /// <summary>
    /// XORs the AES-CM keystream into <paramref name="data"/>. IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16),
    /// block j of the keystream is AES(IV + j) (RFC 3711 §4.1.1). Works for both the 48-bit SRTP and the
    /// 31-bit SRTCP index.
    /// </summary>
    internal void ApplyKeystream(Span<byte> data, uint ssrc, ulong index)
    {
        if (data.IsEmpty)
        {
            return;
        }

        int blocks = (data.Length + BlockSize - 1) / BlockSize;
        int bytes = blocks * BlockSize;
        if (_counterBlocks.Length < bytes)
        {
            // Grows once to the largest packet seen; steady state allocates nothing.
            _counterBlocks = new byte[bytes];
            _keystream = new byte[bytes];
        }

        Span<byte> iv = _counterBlocks.AsSpan(0, BlockSize);
        iv.Clear();
        _salt.CopyTo(iv);
        BinaryPrimitives.WriteUInt32BigEndian(iv[4..], BinaryPrimitives.ReadUInt32BigEndian(iv[4..]) ^ ssrc);
        BinaryPrimitives.WriteUInt16BigEndian(iv[8..], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(iv[8..]) ^ (ushort)(index >> 32)));
        BinaryPrimitives.WriteUInt32BigEndian(iv[10..], BinaryPrimitives.ReadUInt32BigEndian(iv[10..]) ^ (uint)index);

        // Bytes 14–15 of the IV are zero, and a packet has far fewer than 2^16 blocks, so j only touches them.
        for (int j = 1; j < blocks; j++)
        {
            Span<byte> block = _counterBlocks.AsSpan(j * BlockSize, BlockSize);
            iv.CopyTo(block);
            BinaryPrimitives.WriteUInt16BigEndian(block[14..], (ushort)j);
        }

        _ecb.TransformBlock(_counterBlocks, 0, bytes, _keystream, 0);
        Xor(data, _keystream.AsSpan(0, data.Length));
    }

    private void ComputeRtpTag(ReadOnlySpan<byte> authenticatedPortion, uint rolloverCounter)
    {
        // RFC 3711 §4.2: the tag covers the packet followed by the 32-bit ROC.
        Span<byte> roc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(roc, rolloverCounter);
        _hmac.AppendData(authenticatedPortion);
        _hmac.AppendData(roc);
        _hmac.GetHashAndReset(_mac);
    }

    private static void Xor(Span<byte> data, ReadOnlySpan<byte> keystream)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<byte>.Count;
            for (; i <= data.Length - width; i += width)
            {
                var mixed = new Vector<byte>(data[i..]) ^ new Vector<byte>(keystream[i..]);
                mixed.CopyTo(data[i..]);
            }
        }

        for (; i < data.Length; i++)
        {
            data[i] ^= keystream[i];
        }
    }

    public override void Dispose()
    {
        _ecb.Dispose();
        _aes.Dispose();
        _hmac.Dispose();
    }
}
