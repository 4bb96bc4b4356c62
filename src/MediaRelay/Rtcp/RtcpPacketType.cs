namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1) and feedback message types (FMT).</summary>
internal static class RtcpPacketType
{
    public const byte SenderReport = 200;
    public const byte ReceiverReport = 201;
    public const byte SourceDescription = 202;
    public const byte Goodbye = 203;
    public const byte ApplicationDefined = 204;

    /// <summary>Transport layer feedback (RFC 4585 §6.2).</summary>
    public const byte TransportFeedback = 205;

    /// <summary>Payload-specific feedback (RFC 4585 §6.3).</summary>
    public const byte PayloadFeedback = 206;

    /// <summary>205/1 Generic NACK (RFC 4585 §6.2.1).</summary>
    public const int FmtGenericNack = 1;

    /// <summary>205/15 transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions §3.1).</summary>
    public const int FmtTransportWideFeedback = 15;

    /// <summary>206/1 Picture Loss Indication (RFC 4585 §6.3.1).</summary>
    public const int FmtPictureLossIndication = 1;

    /// <summary>206/4 Full Intra Request (RFC 5104 §4.3.1).</summary>
    public const int FmtFullIntraRequest = 4;

    /// <summary>206/15 application layer feedback, used by REMB (draft-alvestrand-rmcat-remb §2).</summary>
    public const int FmtApplicationLayerFeedback = 15;
}
