namespace Teletherapy.MediaRelay.Transport;

/// <summary>What a datagram on the shared media port is, by its first bytes (RFC 7983 §7, RFC 5761 §4).</summary>
internal enum PacketClass : byte
{
    Unknown = 0,
    Stun,
    Dtls,
    TurnChannel,
    Rtp,
    Rtcp,
}

/// <summary>Demultiplexing of STUN, DTLS, TURN channel data, RTP and RTCP sharing one 5-tuple.</summary>
internal static class Demultiplexer
{
    /// <summary>
    /// RFC 7983 §7 (updated by RFC 9443): first byte 0–3 STUN, 20–63 DTLS, 64–79 TURN channel, 128–191 RTP/RTCP.
    /// Within RTP/RTCP, a second byte (marker+PT) of 192–223 is RTCP (RFC 5761 §4: PTs 64–95 are not used by RTP).
    /// </summary>
    public static PacketClass Classify(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 2)
        {
            return PacketClass.Unknown;
        }

        var first = packet[0];
        return first switch
        {
            <= 3 => PacketClass.Stun,
            >= 20 and <= 63 => PacketClass.Dtls,
            >= 64 and <= 79 => PacketClass.TurnChannel,
            >= 128 and <= 191 => packet[1] is >= 192 and <= 223 ? PacketClass.Rtcp : PacketClass.Rtp,
            _ => PacketClass.Unknown,
        };
    }
}
