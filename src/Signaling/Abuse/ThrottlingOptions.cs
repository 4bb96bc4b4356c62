namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// Configuration section <c>Throttling</c>: how much one client (an IPv4 address or an IPv6 /64) may ask of the
/// server's anonymous doors, and how large anonymous bodies and hub messages may be. The defaults leave room for a
/// clinic's front desk behind one address and stop a script.
/// </summary>
public sealed class ThrottlingOptions
{
    public const string SectionName = "Throttling";

    /// <summary>Staff sign-in attempts per client per minute (each wrong one also slows its account down). Default 20.</summary>
    public int SignInsPerMinute { get; set; } = 20;

    /// <summary>Portal sign-in link requests per client per 10 minutes. Default 5.</summary>
    public int PortalLinksPerTenMinutes { get; set; } = 5;

    /// <summary>Portal sign-in links emailed to one address per hour (the rest are dropped silently). Default 3.</summary>
    public int PortalLinksPerEmailPerHour { get; set; } = 3;

    /// <summary>Join-link lookups (<c>GET /api/v1/join/{token}</c> and hub joins with a token) per client per minute. Default 60.</summary>
    public int JoinLookupsPerMinute { get; set; } = 60;

    /// <summary>New hub connections per client per minute. Default 30.</summary>
    public int HubConnectsPerMinute { get; set; } = 30;

    /// <summary>Open hub connections per client. Default 20.</summary>
    public int HubConnectionsPerClient { get; set; } = 20;

    /// <summary>Hub method calls per connection per second (a burst of twice as many is allowed). Default 20.</summary>
    public int HubCallsPerSecond { get; set; } = 20;

    /// <summary>Largest hub message in bytes (an SDP offer with simulcast is about 10 KB). Default 64 KiB.</summary>
    public int HubMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Largest request body in bytes from someone not signed in. Default 64 KiB.</summary>
    public long AnonymousBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Largest request body in bytes from anyone. Default 1 MiB.</summary>
    public long BodyBytes { get; set; } = 1024 * 1024;
}
