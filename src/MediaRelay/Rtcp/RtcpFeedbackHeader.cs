using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// The common part of feedback messages (RFC 4585 §6.1): sender SSRC, media source SSRC, then the
/// feedback control information (FCI).
/// </summary>
internal static class RtcpFeedbackHeader
{
    public const int Length = RtcpHeader.Length + 8;

    public static bool TryRead(
        ReadOnlySpan<byte> packet,
        byte packetType,
        int fmt,
        out uint senderSsrc,
        out uint mediaSsrc,
        out ReadOnlySpan<byte> fci)
    {
        senderSsrc = 0;
        mediaSsrc = 0;
        fci = default;
        if (!RtcpHeader.TryReadBody(packet, packetType, fmt, out _, out ReadOnlySpan<byte> body) || body.Length < 8)
        {
            return false;
        }

        senderSsrc = BinaryPrimitives.ReadUInt32BigEndian(body);
        mediaSsrc = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        fci = body[8..];
        return true;
    }

    public static void Write(Span<byte> destination, byte packetType, int fmt, int totalLength, uint senderSsrc, uint mediaSsrc, bool padding = false)
    {
        RtcpHeader.Write(destination, fmt, packetType, totalLength, padding);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], senderSsrc);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], mediaSsrc);
    }
}
