namespace Teletherapy.Scheduling;

/// <summary>Where Scheduling keeps its data.</summary>
public sealed class SchedulingOptions
{
    /// <summary>
    /// The data folder (<c>TELETHERAPY_DATA</c>). Default <c>./data</c>. Holds the SQLite database
    /// <c>teletherapy.db</c> and the <c>outbox/</c> folder for messages when no SMTP or SMS gateway is configured.
    /// </summary>
    public string DataPath { get; set; } = "data";

    /// <summary>PostgreSQL connection string (<c>ConnectionStrings__Postgres</c>). Empty: embedded SQLite.</summary>
    public string? PostgresConnectionString { get; set; }
}
