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

    /// <summary>The folder messages are written to when no SMTP server or SMS gateway is configured: <c>DataPath/outbox</c>.</summary>
    internal string OutboxFolder => Path.Combine(DataPath, "outbox");
}

/// <summary>How notifications are built and when the background workers run (section <c>Teletherapy</c>).</summary>
public sealed class NotificationOptions
{
    /// <summary>
    /// Absolute base URL of this server as patients reach it, used in email links (<c>Teletherapy__PublicBaseUrl</c>).
    /// Default <c>http://localhost:5080</c>.
    /// </summary>
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";

    /// <summary>How often the outbox sender looks for due messages. Default 5 s.</summary>
    public TimeSpan OutboxPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the reminder scheduler looks for due reminders. Default 60 s.</summary>
    public TimeSpan ReminderPollInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Attempts before a message is given up (kept in the table with its last error). Default 10.</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>Delay before the first retry; doubled after each failure up to <see cref="MaxRetryDelay"/>. Default 10 s.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest delay between retries. Default 30 min.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Longest wait between tries while a transport is unavailable (SMTP server down, outbox folder full); no attempt is
    /// counted against the messages meanwhile, so none is given up because of an outage. Default 1 min.
    /// </summary>
    public TimeSpan UnavailableRetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a sender holds a claimed message before another node may take it over. Default 2 min.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a portal sign-in link works. Default 15 min.</summary>
    public TimeSpan PortalLoginLinkLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long <c>.eml</c> and <c>.sms.txt</c> files stay in the outbox folder (written when no SMTP server or SMS
    /// gateway is configured) before the outbox sender deletes them; they hold live join and portal links. Counted from
    /// the message's delivery; checked at most once an hour. Default 7 days; zero or less keeps them.
    /// </summary>
    public TimeSpan OutboxFileRetention { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>The SMTP server emails go through (section <c>Smtp</c>). With no <see cref="Host"/>, emails are written to <c>outbox/*.eml</c>.</summary>
public sealed class SmtpOptions
{
    public const string SectionName = "Smtp";

    /// <summary>SMTP host (<c>Smtp__Host</c>). Default none: write <c>.eml</c> files instead.</summary>
    public string? Host { get; set; }

    /// <summary>SMTP port (<c>Smtp__Port</c>). Default 587 (submission with STARTTLS).</summary>
    public int Port { get; set; } = 587;

    /// <summary>User name (<c>Smtp__Username</c>). Default none: no authentication.</summary>
    public string? Username { get; set; }

    /// <summary>Password (<c>Smtp__Password</c>).</summary>
    public string? Password { get; set; }

    /// <summary>Sender address (<c>Smtp__From</c>). Default <c>Teletherapy &lt;no-reply@localhost&gt;</c>.</summary>
    public string From { get; set; } = "Teletherapy <no-reply@localhost>";

    /// <summary>
    /// TLS (<c>Smtp__UseTls</c>). Default true: implicit TLS on port 465, STARTTLS required on other ports.
    /// False: STARTTLS when the server offers it, else plain (a relay on the local network).
    /// </summary>
    public bool UseTls { get; set; } = true;

    /// <summary>Seconds per SMTP operation before it counts as failed. Default 30.</summary>
    public int TimeoutSeconds { get; set; } = 30;

    internal bool IsConfigured => !string.IsNullOrWhiteSpace(Host);
}
