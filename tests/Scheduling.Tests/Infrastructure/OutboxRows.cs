using System.Text.RegularExpressions;
using MimeKit;
using Teletherapy.Scheduling.Outbox;

namespace Teletherapy.Scheduling.Tests.Infrastructure;

public sealed class OutboxRow
{
    public Guid Id { get; set; }

    public string Channel { get; set; } = "";

    public string Kind { get; set; } = "";

    public Guid? AppointmentId { get; set; }

    public string Recipient { get; set; } = "";

    public string Payload { get; set; } = "";

    public int Attempts { get; set; }

    public DateTimeOffset NotBefore { get; set; }

    public DateTimeOffset? SentAt { get; set; }

    public DateTimeOffset? DiscardedAt { get; set; }

    public string? LastError { get; set; }

    public MimeMessage Mime() => OutboxWriter.Deserialize(Payload);
}

public static partial class OutboxRows
{
    public static Task<List<OutboxRow>> AllAsync(this SchedulingHarness harness) =>
        harness.QueryAsync<OutboxRow>("SELECT id, channel, kind, appointment_id, recipient, payload, attempts, not_before, sent_at, discarded_at, last_error FROM outbox_messages ORDER BY created_at, recipient");

    public static async Task<List<OutboxRow>> PendingAsync(this SchedulingHarness harness) =>
        (await harness.AllAsync()).Where(r => r.SentAt is null && r.DiscardedAt is null).ToList();

    /// <summary>The join token in an email's plain-text part.</summary>
    public static string JoinToken(this MimeMessage message)
    {
        var match = JoinLink().Match(message.TextBody ?? string.Empty);
        Assert.True(match.Success, "the email has a join link");
        return match.Groups[1].Value;
    }

    [GeneratedRegex("/join/([A-Za-z0-9_-]+)")]
    private static partial Regex JoinLink();
}
