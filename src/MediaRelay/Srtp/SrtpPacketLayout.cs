using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// The few RTP/RTCP header fields SRTP needs, read without the packet parsers of the Packets layer so
/// that Security does not depend on their evolution. Bad input returns false, never throws.
/// </summary>
internal static class SrtpPacketLayout
{
    public const int RtpFixedHeaderLength = 12;
    public const int RtcpHeaderLength = 8;

    /// <summary>
    /// Reads SSRC, sequence number and the length of the part SRTP leaves in clear: fixed header, CSRC
    /// list and header extension (RFC 3550 §5.1, §5.3.1; RFC 3711 §3.1: only the payload is encrypted).
    /// </summary>
    public static bool TryReadRtp(ReadOnlySpan<byte> packet, out uint ssrc, out ushort sequenceNumber, out int headerLength)
    {
        ssrc = 0;
        sequenceNumber = 0;
        headerLength = 0;
        if (packet.Length < RtpFixedHeaderLength || (packet[0] >> 6) != 2)
        {
            return false;
        }

        int length = RtpFixedHeaderLength + (4 * (packet[0] & 0x0F));
        if ((packet[0] & 0x10) != 0)
        {
            // RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in 32-bit words excluding this word.
            if (packet.Length < length + 4)
            {
                return false;
            }

            length += 4 + (4 * BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(length + 2, 2)));
        }

        if (length > packet.Length)
        {
            return false;
        }

        sequenceNumber = BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(2, 2));
        ssrc = BinaryPrimitives.ReadUInt32BigEndian(packet.Slice(8, 4));
        headerLength = length;
        return true;
    }

    /// <summary>Reads the sender SSRC of the first packet of a (compound) RTCP datagram (RFC 3550 §6.4; RFC 3711 §3.4).</summary>
    public static bool TryReadRtcpSsrc(ReadOnlySpan<byte> packet, out uint ssrc)
    {
        ssrc = 0;
        if (packet.Length < RtcpHeaderLength || (packet[0] >> 6) != 2)
        {
            return false;
        }

        ssrc = BinaryPrimitives.ReadUInt32BigEndian(packet.Slice(4, 4));
        return true;
    }
}
