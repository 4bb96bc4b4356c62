namespace Teletherapy.MediaRelay;

/// <summary>
/// The names of the relay's caps (see <see cref="MediaOptions"/>), as they appear in the <c>limit</c> label of
/// <c>teletherapy_relay_limits_hit_total</c>, in <see cref="MediaLimitExceededException.Limit"/> and in
/// <see cref="Routing.NegotiationResult.Limit"/>.
/// </summary>
public static class MediaLimits
{
    /// <summary>An SDP larger than <see cref="MediaOptions.MaxSdpBytes"/>.</summary>
    public const string SdpSize = "sdp-size";

    /// <summary>An offer with more m-lines than <see cref="MediaOptions.MaxMediaSectionsPerOffer"/>.</summary>
    public const string MediaSections = "m-lines";

    /// <summary>An m-line with more simulcast layers than <see cref="MediaOptions.MaxSimulcastLayers"/>.</summary>
    public const string SimulcastLayers = "simulcast-layers";

    /// <summary>A new peer in a router that has <see cref="MediaOptions.MaxPeersPerRouter"/> already.</summary>
    public const string PeersPerRouter = "peers-per-router";

    /// <summary>A new router while <see cref="MediaOptions.MaxRouters"/> exist.</summary>
    public const string Routers = "routers";

    /// <summary>A new transport while <see cref="MediaOptions.MaxTransports"/> exist.</summary>
    public const string Transports = "transports";

    /// <summary>A ClientHello dropped while <see cref="MediaOptions.MaxPendingDtlsHandshakes"/> handshakes run.</summary>
    public const string DtlsHandshakes = "dtls-handshakes";

    /// <summary>
    /// A publish offer with more sending video m-lines than the peer may send (<see cref="Routing.RouterPeer.MaxVideoTracks"/>,
    /// set by the caller: e.g. a second video track, a shared screen, only for those allowed to share).
    /// </summary>
    public const string VideoTracks = "video-tracks";

    /// <summary>A connection test while <see cref="MediaOptions.MaxConnectionTests"/> run.</summary>
    public const string ConnectionTests = "connection-tests";

    /// <summary>A connection test while <see cref="MediaOptions.MaxConnectionTestsPerAddress"/> run from the caller's address range.</summary>
    public const string ConnectionTestsPerAddress = "connection-tests-per-address";
}

/// <summary>
/// A relay cap refused the call (a new router or peer). Nothing was created; the caller should refuse the request
/// that asked for it with a clear message (e.g. a 4xx, or a <c>HubException</c> saying the session is full).
/// </summary>
public sealed class MediaLimitExceededException : InvalidOperationException
{
    public MediaLimitExceededException()
        : this("limit", "A media relay limit was reached.")
    {
    }

    public MediaLimitExceededException(string message)
        : this("limit", message)
    {
    }

    public MediaLimitExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
        Limit = "limit";
    }

    public MediaLimitExceededException(string limit, string message)
        : base(message)
    {
        Limit = limit;
    }

    /// <summary>Which cap (a <see cref="MediaLimits"/> name).</summary>
    public string Limit { get; }
}
