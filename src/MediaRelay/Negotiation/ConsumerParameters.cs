namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>What the subscriber's SDP says about one outgoing track: our SSRCs and that subscriber's payload type and extension ids.</summary>
internal sealed record ConsumerParameters(
    string Mid,
    MediaKind Kind,
    RtpCodec Codec,
    HeaderExtensionIds Extensions,
    uint Ssrc,
    uint? RtxSsrc,
    string Cname,
    string StreamId,
    string TrackId);
