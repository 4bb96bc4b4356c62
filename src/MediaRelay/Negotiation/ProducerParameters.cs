namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>One encoding of a producer: a simulcast layer (by rid) or the single stream (by SSRC), with its RTX SSRC when signalled.</summary>
internal sealed record ProducerEncoding(string? Rid, uint? Ssrc, uint? RtxSsrc);

/// <summary>What the publisher's SDP says about one incoming track (one m-line).</summary>
internal sealed record ProducerParameters(
    string Mid,
    MediaKind Kind,
    RtpCodec Codec,
    HeaderExtensionIds Extensions,
    IReadOnlyList<ProducerEncoding> Encodings,
    string? StreamId,
    string? TrackId)
{
    public bool IsSimulcast => Encodings.Count > 1;
}
