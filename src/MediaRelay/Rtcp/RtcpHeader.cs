using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// The common header of one RTCP packet (RFC 3550 §6.4.1): version, padding, a 5-bit count or FMT, the packet
/// type and the length in 32-bit words minus one. <see cref="TryRead"/> guarantees the packet fits the buffer.
/// </summary>
internal readonly ref struct RtcpHeader
{
    public const int Length = 4;

    private RtcpHeader(ReadOnlySpan<byte> packet, int paddingLength)
    {
        Packet = packet;
        PaddingLength = paddingLength;
    }

    /// <summary>The whole packet including header and padding.</summary>
    public ReadOnlySpan<byte> Packet { get; }

    public bool HasPadding => (Packet[0] & 0x20) != 0;

    /// <summary>Reception report count, source count or feedback message type, depending on the packet type.</summary>
    public int Count => Packet[0] & 0x1F;

    public byte PacketType => Packet[1];

    public int PaddingLength { get; }

    /// <summary>Everything after the 4-byte header, padding removed.</summary>
    public ReadOnlySpan<byte> Body => Packet[Length..^PaddingLength];

    /// <summary>
    /// RFC 5761 §4: with RTP and RTCP on one port, RTCP is told apart by the second byte 192-223 (packet types
    /// 200-204 and the feedback types fall in that range; RTP payload types 64-95 are avoided for this).
    /// </summary>
    public static bool IsRtcp(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= Length && (datagram[0] & 0xC0) == 0x80 && datagram[1] is >= 192 and <= 223;

    public static bool TryRead(ReadOnlySpan<byte> buffer, out RtcpHeader header)
    {
        header = default;
        if (buffer.Length < Length || buffer[0] >> 6 != 2)
        {
            return false;
        }

        int total = (BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]) + 1) * 4;
        if (total > buffer.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> packet = buffer[..total];
        int padding = 0;
        if ((packet[0] & 0x20) != 0)
        {
            // RFC 3550 §6.4.1: the last octet counts the padding including itself.
            padding = packet[^1];
            if (padding == 0 || padding > total - Length)
            {
                return false;
            }
        }

        header = new RtcpHeader(packet, padding);
        return true;
    }

    /// <summary>
    /// Reads a packet of one type (and feedback FMT when <paramref name="count"/> is not negative) and returns its
    /// body; the shared first step of every typed reader.
    /// </summary>
    internal static bool TryReadBody(ReadOnlySpan<byte> packet, byte packetType, int count, out RtcpHeader header, out ReadOnlySpan<byte> body)
    {
        body = default;
        if (!TryRead(packet, out header) || header.PacketType != packetType || (count >= 0 && header.Count != count))
        {
            return false;
        }

        body = header.Body;
        return true;
    }

    /// <summary>Writes a header for a packet of <paramref name="totalLength"/> bytes, a multiple of 4.</summary>
    internal static void Write(Span<byte> destination, int count, byte packetType, int totalLength, bool padding = false)
    {
        destination[0] = (byte)(0x80 | (padding ? 0x20 : 0) | (count & 0x1F));
        destination[1] = packetType;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)((totalLength / 4) - 1));
    }

    internal static void EnsureCapacity(Span<byte> destination, int length)
    {
        if (destination.Length < length)
        {
            throw new ArgumentException("The destination buffer is too small for the RTCP packet.", nameof(destination));
        }
    }
}
