namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// Configuration section <c>Turn</c>: an optional TURN server (e.g. coturn with <c>use-auth-secret</c>) for
/// browsers on networks that block the media ports. Default: none configured.
/// </summary>
public sealed class TurnOptions
{
    public const string SectionName = "Turn";

    /// <summary>TURN URLs handed to browsers, e.g. <c>turn:203.0.113.5:3478</c> (<c>Turn__Urls__0</c>…).</summary>
    public IList<string> Urls { get; } = new List<string>();

    /// <summary>The shared secret of coturn's <c>static-auth-secret</c>; credentials are derived from it per request.</summary>
    public string? Secret { get; set; }

    /// <summary>How long derived credentials stay valid. Default 12 hours.</summary>
    public int CredentialLifetimeMinutes { get; set; } = 720;
}
