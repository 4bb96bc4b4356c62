
using Teletherapy.MediaRelay.Negotiation;

namespace Teletherapy.MediaRelay.Client;

/// <summary>
/// A stream the relay sends to a client, read from the relay's SDP (a subscribe offer, or the connection test's
/// echo answer): its mid, the relay's SSRCs, the payload type and header extension ids the relay uses, and the
/// msid naming whose track it is. A receiver checks what arrives against these.
/// </summary>
internal sealed record RelayTrack(
    string Mid,
    MediaKind Kind,
    uint Ssrc,
    uint? RtxSsrc,
    RtpCodec Codec,
    HeaderExtensionIds Extensions,
    string? StreamId,
    string? TrackId);
