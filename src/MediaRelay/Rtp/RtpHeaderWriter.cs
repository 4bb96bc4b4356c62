using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtp;

/// <summary>
/// Builds an RTP header (RFC 3550 §5.1) with optional one-byte extension elements (RFC 8285 §4.2) into a
/// caller's buffer. Call <see cref="Complete"/> to pad the extension to 32 bits and get the header length.
/// </summary>
internal ref struct RtpHeaderWriter
{
    private readonly Span<byte> _buffer;
    private int _length;
    private bool _hasExtension;

    public RtpHeaderWriter(Span<byte> destination, byte payloadType, ushort sequenceNumber, uint timestamp, uint ssrc, bool marker)
    {
        if (destination.Length < RtpHeader.FixedLength)
        {
            ThrowTooSmall();
        }

        _buffer = destination;
        destination[0] = RtpHeader.Version2 << 6;
        destination[1] = (byte)((payloadType & 0x7F) | (marker ? 0x80 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], sequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], ssrc);
        _length = RtpHeader.FixedLength;
        _hasExtension = false;
    }

    /// <summary>Adds a one-byte element: id 1-14, value 1-16 bytes (RFC 8285 §4.2).</summary>
    public void AddOneByteExtension(byte id, scoped ReadOnlySpan<byte> value)
    {
        if (id is 0 or > 14)
        {
            throw new ArgumentOutOfRangeException(nameof(id), "One-byte extension ids are 1-14 (RFC 8285 §4.2).");
        }

        if (value.Length is 0 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "One-byte extension values are 1-16 bytes.");
        }

        if (!_hasExtension)
        {
            if (_length + 4 > _buffer.Length)
            {
                ThrowTooSmall();
            }

            _buffer[0] |= 0x10;
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[_length..], RtpHeaderExtensionEnumerator.OneByteProfile);
            _length += 4;
            _hasExtension = true;
        }

        if (_length + 1 + value.Length > _buffer.Length)
        {
            ThrowTooSmall();
        }

        _buffer[_length] = (byte)((id << 4) | (value.Length - 1));
        value.CopyTo(_buffer[(_length + 1)..]);
        _length += 1 + value.Length;
    }

    /// <summary>Pads the extension with zero bytes to a 32-bit boundary, writes its length; returns the header length.</summary>
    public int Complete()
    {
        if (_hasExtension)
        {
            int padded = (_length + 3) & ~3;
            if (padded > _buffer.Length)
            {
                ThrowTooSmall();
            }

            _buffer[_length..padded].Clear();
            _length = padded;
            int words = (_length - RtpHeader.FixedLength - 4) / 4;
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[(RtpHeader.FixedLength + 2)..], (ushort)words);
        }

        return _length;
    }

    private static void ThrowTooSmall() =>
        throw new ArgumentException("The destination buffer is too small for the RTP header.");
}
