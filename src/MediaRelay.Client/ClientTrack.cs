
using Teletherapy.MediaRelay.Negotiation;

namespace Teletherapy.MediaRelay.Client;

/// <summary>
/// A track a synthetic participant sends (one m-line of its publish offer): audio or video on one SSRC (video
/// with its RTX SSRC, RFC 4588 §8), or simulcast video named by rids only, without SSRCs, as Chrome offers it
/// (RFC 8853 §5.1).
/// </summary>
internal sealed record ClientTrack(string Mid, MediaKind Kind, uint? Ssrc, uint? RtxSsrc, IReadOnlyList<string> Rids, string TrackId)
{
    public bool IsSimulcast => Rids.Count > 0;

    public static ClientTrack Audio(string mid, uint ssrc) => new(mid, MediaKind.Audio, ssrc, null, [], "audio-" + mid);

    public static ClientTrack Video(string mid, uint ssrc, uint rtxSsrc) => new(mid, MediaKind.Video, ssrc, rtxSsrc, [], "video-" + mid);

    /// <summary>Simulcast video in Chrome's three layers, lowest first: quarter, half and full resolution.</summary>
    public static ClientTrack SimulcastVideo(string mid, IReadOnlyList<string>? rids = null) =>
        new(mid, MediaKind.Video, null, null, rids ?? ["q", "h", "f"], "video-" + mid);
}
