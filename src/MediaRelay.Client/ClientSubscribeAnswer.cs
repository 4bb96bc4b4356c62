using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Client;

/// <summary>A client's answer to the relay's subscribe offer, and what the offer says the client will receive.</summary>
/// <param name="Answer">The answer to hand to <c>RouterPeer.ApplySubscribeAnswer</c>.</param>
/// <param name="Relay">How to reach the relay; null when the offer has no live m-line (every track has gone).</param>
/// <param name="Tracks">The live m-lines: what arrives on which SSRC, payload type and extension ids.</param>
/// <param name="RejectedMids">Mids offered with port 0 (a track that has gone keeps its slot) or with nothing we can receive.</param>
internal sealed record ClientSubscribeAnswer(
    SessionDescription Answer,
    RelayTransportParameters? Relay,
    IReadOnlyList<RelayTrack> Tracks,
    IReadOnlyList<string> RejectedMids)
{
    public RelayTrack? FindBySsrc(uint ssrc) => Tracks.FirstOrDefault(t => t.Ssrc == ssrc);

    public RelayTrack? FindByMid(string mid) => Tracks.FirstOrDefault(t => t.Mid == mid);
}
