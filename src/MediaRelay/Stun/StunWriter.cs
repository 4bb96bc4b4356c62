using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Teletherapy.MediaRelay.Stun;

/// <summary>
/// Builds a STUN message into a caller-provided buffer. Attributes are appended in call order; finish with
/// <see cref="AddMessageIntegrity"/> and <see cref="AddFingerprint"/>, which must come last (RFC 8489 §14.5, §14.7).
/// Throws only when the destination is too small, which is a programming error, not bad input.
/// </summary>
internal ref struct StunWriter
{
    private readonly Span<byte> _buffer;
    private int _length;

    public StunWriter(Span<byte> destination, StunClass stunClass, ushort method, ReadOnlySpan<byte> transactionId)
    {
        if (destination.Length < StunMessage.HeaderLength)
        {
            ThrowTooSmall();
        }

        if (transactionId.Length != StunMessage.TransactionIdLength)
        {
            throw new ArgumentException("A transaction id is 12 bytes (RFC 8489 §5).", nameof(transactionId));
        }

        _buffer = destination;
        BinaryPrimitives.WriteUInt16BigEndian(destination, StunMethod.ToMessageType(stunClass, method));
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StunMessage.MagicCookie);
        transactionId.CopyTo(destination[8..]);
        _length = StunMessage.HeaderLength;
    }

    /// <summary>Bytes written so far; the final message length once FINGERPRINT is added.</summary>
    public readonly int Length => _length;

    public void AddAttribute(ushort type, scoped ReadOnlySpan<byte> value)
    {
        Span<byte> target = Reserve(type, value.Length);
        value.CopyTo(target);
    }

    public void AddUsername(scoped ReadOnlySpan<byte> username) => AddAttribute(StunAttributeType.Username, username);

    public void AddPriority(uint priority)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Reserve(StunAttributeType.Priority, 4), priority);
    }

    public void AddUseCandidate() => Reserve(StunAttributeType.UseCandidate, 0);

    public void AddIceControlling(ulong tieBreaker)
    {
        BinaryPrimitives.WriteUInt64BigEndian(Reserve(StunAttributeType.IceControlling, 8), tieBreaker);
    }

    public void AddIceControlled(ulong tieBreaker)
    {
        BinaryPrimitives.WriteUInt64BigEndian(Reserve(StunAttributeType.IceControlled, 8), tieBreaker);
    }

    /// <summary>ERROR-CODE (RFC 8489 §14.8); the reason phrase is UTF-8.</summary>
    public void AddErrorCode(int code, string reason)
    {
        if (code is < 300 or > 699)
        {
            throw new ArgumentOutOfRangeException(nameof(code), "STUN error codes are 300-699 (RFC 8489 §14.8).");
        }

        int reasonLength = Encoding.UTF8.GetByteCount(reason);
        Span<byte> value = Reserve(StunAttributeType.ErrorCode, 4 + reasonLength);
        value[0] = 0;
        value[1] = 0;
        value[2] = (byte)(code / 100);
        value[3] = (byte)(code % 100);
        Encoding.UTF8.GetBytes(reason, value[4..]);
    }

    /// <summary>XOR-MAPPED-ADDRESS (RFC 8489 §14.2) from a 4- or 16-byte address.</summary>
    public void AddXorMappedAddress(scoped ReadOnlySpan<byte> address, ushort port)
    {
        byte family = address.Length switch
        {
            4 => 0x01,
            16 => 0x02,
            _ => throw new ArgumentException("An address is 4 or 16 bytes.", nameof(address)),
        };
        Span<byte> value = Reserve(StunAttributeType.XorMappedAddress, 4 + address.Length);
        value[0] = 0;
        value[1] = family;
        BinaryPrimitives.WriteUInt16BigEndian(value[2..], (ushort)(port ^ (StunMessage.MagicCookie >> 16)));
        Span<byte> mask = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(mask, StunMessage.MagicCookie);
        _buffer.Slice(8, StunMessage.TransactionIdLength).CopyTo(mask[4..]);
        for (int i = 0; i < address.Length; i++)
        {
            value[4 + i] = (byte)(address[i] ^ mask[i]);
        }
    }

    public void AddXorMappedAddress(IPEndPoint endPoint)
    {
        Span<byte> address = stackalloc byte[16];
        if (!endPoint.Address.TryWriteBytes(address, out int written))
        {
            throw new ArgumentException("Unsupported address.", nameof(endPoint));
        }

        AddXorMappedAddress(address[..written], (ushort)endPoint.Port);
    }

    /// <summary>
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5): the header length already counts this attribute when the HMAC is taken,
    /// so a FINGERPRINT added afterwards does not change what the HMAC covers.
    /// </summary>
    public void AddMessageIntegrity(scoped ReadOnlySpan<byte> key)
    {
        int covered = _length;
        Span<byte> value = Reserve(StunAttributeType.MessageIntegrity, 20);
        // RFC 8489 §14.5 mandates HMAC-SHA1 here; it is the protocol, not a choice.
#pragma warning disable CA5350
        HMACSHA1.HashData(key, _buffer[..covered], value);
#pragma warning restore CA5350
    }

    /// <summary>FINGERPRINT (RFC 8489 §14.7): CRC-32 of everything before it, XOR 0x5354554E.</summary>
    public void AddFingerprint()
    {
        int covered = _length;
        Span<byte> value = Reserve(StunAttributeType.Fingerprint, 4);
        BinaryPrimitives.WriteUInt32BigEndian(value, StunMessage.ComputeFingerprint(_buffer[..covered]));
    }

    /// <summary>
    /// Writes the attribute header, zeroes the padding and updates the header length, so the covered bytes
    /// are final before MESSAGE-INTEGRITY or FINGERPRINT hash them.
    /// </summary>
    private Span<byte> Reserve(ushort type, int valueLength)
    {
        int padded = StunMessage.Pad4(valueLength);
        if (valueLength > ushort.MaxValue || _length + 4 + padded > _buffer.Length)
        {
            ThrowTooSmall();
        }

        Span<byte> attribute = _buffer.Slice(_length, 4 + padded);
        BinaryPrimitives.WriteUInt16BigEndian(attribute, type);
        BinaryPrimitives.WriteUInt16BigEndian(attribute[2..], (ushort)valueLength);
        attribute[(4 + valueLength)..].Clear();
        _length += 4 + padded;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[2..], (ushort)(_length - StunMessage.HeaderLength));
        return attribute.Slice(4, valueLength);
    }

    private static void ThrowTooSmall() =>
        throw new ArgumentException("The destination buffer is too small for the STUN message.");
}
