namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>
/// One negotiated codec on one side of the relay: the payload type is that peer's number for it
/// (payload types are negotiated per peer, RFC 3264 §6.1, and rewritten on forwarding by <c>Routing.OutgoingRtpWriter</c>).
/// </summary>
internal sealed record RtpCodec(
    MediaKind Kind,
    string Name,
    int PayloadType,
    int ClockRate,
    int? Channels = null,
    string? Fmtp = null,
    int? RtxPayloadType = null)
{
    public bool IsCodec(string name) => string.Equals(Name, name, StringComparison.OrdinalIgnoreCase);
}
