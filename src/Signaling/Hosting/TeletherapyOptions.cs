namespace Teletherapy.Signaling.Hosting;

/// <summary>Configuration section <c>Teletherapy</c>.</summary>
public sealed class TeletherapyOptions
{
    public const string SectionName = "Teletherapy";

    /// <summary>Data folder (<c>TELETHERAPY_DATA</c>): SQLite database and <c>outbox/</c>. Default <c>./data</c>.</summary>
    public string? DataPath { get; set; }

    /// <summary>API keys integrators send in <c>X-Api-Key</c> (<c>Teletherapy__ApiKeys__0</c>…). Default none.</summary>
    public IList<string> ApiKeys { get; } = new List<string>();

    /// <summary>
    /// Make sure a demo clinic with a joinable appointment exists on every start (<c>TELETHERAPY_DEMO=1</c>). Off by
    /// default (and in the container image); <c>./run.sh</c> turns it on for a first look.
    /// </summary>
    public bool Demo { get; set; }

    /// <summary>Seconds the host waits for open sessions and the outbox to finish on shutdown. Default 15.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 15;
}
