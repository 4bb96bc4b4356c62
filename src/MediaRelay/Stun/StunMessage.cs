using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace Teletherapy.MediaRelay.Stun;

/// <summary>
/// A STUN message read in place from a datagram (RFC 8489 §5). Reading validates the header and that every
/// attribute lies inside the message, so the accessors never look outside the span.
/// </summary>
internal readonly ref struct StunMessage
{
    public const int HeaderLength = 20;
    public const uint MagicCookie = 0x2112A442;
    public const int TransactionIdLength = 12;
    private const int MessageIntegrityLength = 20;
    private const uint FingerprintXor = 0x5354554E;

    private StunMessage(ReadOnlySpan<byte> message)
    {
        Buffer = message;
    }

    /// <summary>The whole message: header and attributes.</summary>
    public ReadOnlySpan<byte> Buffer { get; }

    public ushort MessageType => BinaryPrimitives.ReadUInt16BigEndian(Buffer);

    public StunClass Class => StunMethod.ClassOf(MessageType);

    public ushort Method => StunMethod.MethodOf(MessageType);

    /// <summary>Length of the attribute area as written in the header.</summary>
    public int AttributesLength => BinaryPrimitives.ReadUInt16BigEndian(Buffer[2..]);

    public ReadOnlySpan<byte> TransactionId => Buffer.Slice(8, TransactionIdLength);

    public StunAttributeEnumerator Attributes => new(Buffer);

    /// <summary>
    /// Cheap test used by the demultiplexer: first byte 0-3 (RFC 7983 §7) and the magic cookie (RFC 8489 §6).
    /// </summary>
    public static bool IsStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength
        && datagram[0] <= 3
        && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    public static bool TryRead(ReadOnlySpan<byte> datagram, out StunMessage message)
    {
        message = default;
        if (!IsStun(datagram))
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        // RFC 8489 §5: all attributes are padded, so the message length is always a multiple of 4.
        if ((length & 3) != 0 || HeaderLength + length > datagram.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> span = datagram[..(HeaderLength + length)];
        int offset = HeaderLength;
        while (offset < span.Length)
        {
            if (offset + 4 > span.Length)
            {
                return false;
            }

            int attributeLength = BinaryPrimitives.ReadUInt16BigEndian(span[(offset + 2)..]);
            int end = offset + 4 + Pad4(attributeLength);
            if (end > span.Length)
            {
                return false;
            }

            offset = end;
        }

        message = new StunMessage(span);
        return true;
    }

    /// <summary>
    /// Finds the first attribute of a type. Attributes after MESSAGE-INTEGRITY are ignored except
    /// FINGERPRINT (RFC 8489 §14.5), so a value appended after the integrity check cannot be trusted.
    /// </summary>
    public bool TryGetAttribute(ushort type, out ReadOnlySpan<byte> value)
    {
        foreach (StunAttribute attribute in Attributes)
        {
            if (attribute.Type == type)
            {
                value = attribute.Value;
                return true;
            }

            if (attribute.Type == StunAttributeType.MessageIntegrity && type != StunAttributeType.Fingerprint)
            {
                break;
            }
        }

        value = default;
        return false;
    }

    public bool HasAttribute(ushort type) => TryGetAttribute(type, out _);

    public bool TryGetUsername(out ReadOnlySpan<byte> username) =>
        TryGetAttribute(StunAttributeType.Username, out username);

    public bool TryGetPriority(out uint priority) => TryGetUInt32(StunAttributeType.Priority, out priority);

    public bool HasUseCandidate => HasAttribute(StunAttributeType.UseCandidate);

    public bool TryGetIceControlling(out ulong tieBreaker) =>
        TryGetUInt64(StunAttributeType.IceControlling, out tieBreaker);

    public bool TryGetIceControlled(out ulong tieBreaker) =>
        TryGetUInt64(StunAttributeType.IceControlled, out tieBreaker);

    /// <summary>ERROR-CODE (RFC 8489 §14.8): class in the low 3 bits of byte 2, number (0-99) in byte 3.</summary>
    public bool TryGetErrorCode(out int code, out ReadOnlySpan<byte> reason)
    {
        code = 0;
        reason = default;
        if (!TryGetAttribute(StunAttributeType.ErrorCode, out ReadOnlySpan<byte> value) || value.Length < 4)
        {
            return false;
        }

        int errorClass = value[2] & 0x07;
        int number = value[3];
        if (errorClass is < 3 or > 6 || number > 99)
        {
            return false;
        }

        code = (errorClass * 100) + number;
        reason = value[4..];
        return true;
    }

    /// <summary>
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the port is XORed with the top of the cookie, an IPv4 address with
    /// the cookie, an IPv6 address with the cookie followed by the transaction id. Writes 4 or 16 bytes.
    /// </summary>
    public bool TryGetXorMappedAddress(Span<byte> address, out int addressLength, out ushort port)
    {
        addressLength = 0;
        port = 0;
        if (!TryGetAttribute(StunAttributeType.XorMappedAddress, out ReadOnlySpan<byte> value) || value.Length < 4)
        {
            return false;
        }

        int family = value[1];
        int expected = family switch { 0x01 => 4, 0x02 => 16, _ => -1 };
        if (expected < 0 || value.Length < 4 + expected || address.Length < expected)
        {
            return false;
        }

        port = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(value[2..]) ^ (MagicCookie >> 16));
        Span<byte> mask = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(mask, MagicCookie);
        TransactionId.CopyTo(mask[4..]);
        for (int i = 0; i < expected; i++)
        {
            address[i] = (byte)(value[4 + i] ^ mask[i]);
        }

        addressLength = expected;
        return true;
    }

    /// <summary>Convenience form that allocates an endpoint; not for the per-packet path.</summary>
    public bool TryGetXorMappedAddress(out IPEndPoint? endPoint)
    {
        Span<byte> address = stackalloc byte[16];
        if (!TryGetXorMappedAddress(address, out int length, out ushort port))
        {
            endPoint = null;
            return false;
        }

        endPoint = new IPEndPoint(new IPAddress(address[..length]), port);
        return true;
    }

    /// <summary>
    /// Checks MESSAGE-INTEGRITY (RFC 8489 §14.5): HMAC-SHA1 keyed with the short-term password (§9.1.1) over
    /// the message up to the attribute, with the header length set as if the attribute were the last one.
    /// </summary>
    public bool VerifyMessageIntegrity(ReadOnlySpan<byte> key)
    {
        int offset = -1;
        ReadOnlySpan<byte> expected = default;
        foreach (StunAttribute attribute in Attributes)
        {
            if (attribute.Type == StunAttributeType.MessageIntegrity)
            {
                offset = attribute.Offset;
                expected = attribute.Value;
                break;
            }
        }

        if (offset < 0 || expected.Length != MessageIntegrityLength)
        {
            return false;
        }

        byte[]? rented = null;
        Span<byte> covered = offset <= 1536
            ? stackalloc byte[1536]
            : (rented = ArrayPool<byte>.Shared.Rent(offset));
        covered = covered[..offset];
        Buffer[..offset].CopyTo(covered);
        BinaryPrimitives.WriteUInt16BigEndian(covered[2..], (ushort)(offset - HeaderLength + 4 + MessageIntegrityLength));
        Span<byte> actual = stackalloc byte[MessageIntegrityLength];
        // RFC 8489 §14.5 mandates HMAC-SHA1 here; it is the protocol, not a choice.
#pragma warning disable CA5350
        HMACSHA1.HashData(key, covered, actual);
#pragma warning restore CA5350
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        // Constant time, so that timing does not reveal how many bytes of a forged tag were right.
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>
    /// Checks FINGERPRINT (RFC 8489 §14.7): it must be the last attribute and equal CRC-32 of everything before
    /// it XOR 0x5354554E.
    /// </summary>
    public bool VerifyFingerprint()
    {
        int offset = Buffer.Length - 8;
        if (offset < HeaderLength
            || BinaryPrimitives.ReadUInt16BigEndian(Buffer[offset..]) != StunAttributeType.Fingerprint
            || BinaryPrimitives.ReadUInt16BigEndian(Buffer[(offset + 2)..]) != 4)
        {
            return false;
        }

        uint expected = BinaryPrimitives.ReadUInt32BigEndian(Buffer[(offset + 4)..]);
        return (StunCrc32.Compute(Buffer[..offset]) ^ FingerprintXor) == expected;
    }

    internal static uint ComputeFingerprint(ReadOnlySpan<byte> covered) => StunCrc32.Compute(covered) ^ FingerprintXor;

    internal static int Pad4(int length) => (length + 3) & ~3;

    private bool TryGetUInt32(ushort type, out uint value)
    {
        if (TryGetAttribute(type, out ReadOnlySpan<byte> raw) && raw.Length == 4)
        {
            value = BinaryPrimitives.ReadUInt32BigEndian(raw);
            return true;
        }

        value = 0;
        return false;
    }

    private bool TryGetUInt64(ushort type, out ulong value)
    {
        if (TryGetAttribute(type, out ReadOnlySpan<byte> raw) && raw.Length == 8)
        {
            value = BinaryPrimitives.ReadUInt64BigEndian(raw);
            return true;
        }

        value = 0;
        return false;
    }
}
