using Teletherapy.MediaRelay.Negotiation;

namespace Teletherapy.MediaRelay.Client;

/// <summary>What a client learns from the relay's answer to its publish offer.</summary>
/// <param name="Relay">How to reach and authenticate the relay.</param>
/// <param name="AcceptedMids">The m-lines the relay accepted (port ≠ 0), in offer order.</param>
/// <param name="ReturnedTracks">Streams the relay sends back on this connection: the connection test's echo; empty for a publish.</param>
internal sealed record ClientPublishAnswer(
    RelayTransportParameters Relay,
    IReadOnlyList<string> AcceptedMids,
    IReadOnlyList<RelayTrack> ReturnedTracks);
