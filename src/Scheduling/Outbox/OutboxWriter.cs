using System.Data.Common;
using System.Text;
using Dapper;
using MimeKit;

namespace Teletherapy.Scheduling.Outbox;

/// <summary>Channels of outbox messages.</summary>
internal static class OutboxChannels
{
    public const string Email = "email";
    public const string Sms = "sms";
}

/// <summary>What caused an outbox message.</summary>
internal static class OutboxKinds
{
    public const string Scheduled = "scheduled";
    public const string Rescheduled = "rescheduled";
    public const string Cancelled = "cancelled";
    public const string Reminder = "reminder";
    public const string PortalLogin = "portal-login";
}

/// <summary>A message to put in the outbox, inside the caller's transaction.</summary>
internal sealed record OutboxEntry(
    Guid Id,
    string Channel,
    string Kind,
    Guid? AppointmentId,
    string Recipient,
    string Payload,
    DateTimeOffset NotBefore,
    DateTimeOffset? DiscardAfter = null,
    string? DedupeKey = null);

/// <summary>Saves messages in the same transaction as the change that causes them (the sender delivers them later).</summary>
internal static class OutboxWriter
{
    public static string Serialize(MimeMessage message)
    {
        using var stream = new MemoryStream();
        message.WriteTo(FormatOptions.Default, stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static MimeMessage Deserialize(string payload)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(payload));
        return MimeMessage.Load(stream);
    }

    /// <summary>Inserts the entry; returns false when an entry with the same dedupe key already exists (nothing written).</summary>
    public static async Task<bool> EnqueueAsync(DbConnection connection, DbTransaction transaction, OutboxEntry entry, DateTimeOffset now)
    {
        var rows = await connection.ExecuteAsync(
            """
            INSERT INTO outbox_messages (id, channel, kind, appointment_id, recipient, payload, dedupe_key, created_at, not_before, discard_after, attempts)
            VALUES (@Id, @Channel, @Kind, @AppointmentId, @Recipient, @Payload, @DedupeKey, @now, @NotBefore, @DiscardAfter, 0)
            ON CONFLICT (dedupe_key) DO NOTHING
            """,
            new { entry.Id, entry.Channel, entry.Kind, entry.AppointmentId, entry.Recipient, entry.Payload, entry.DedupeKey, now, entry.NotBefore, entry.DiscardAfter },
            transaction).ConfigureAwait(false);
        return rows == 1;
    }

    /// <summary>
    /// Drops unsent appointment emails that a reschedule or cancel made wrong (their links are revoked too), and their
    /// stored bodies with them: a message that will never be sent keeps no copy of its links.
    /// </summary>
    public static Task<int> DiscardPendingAsync(DbConnection connection, DbTransaction transaction, Guid appointmentId, DateTimeOffset now) =>
        connection.ExecuteAsync(
            "UPDATE outbox_messages SET discarded_at = @now, last_error = 'superseded', payload = '' WHERE appointment_id = @appointmentId AND sent_at IS NULL AND discarded_at IS NULL",
            new { now, appointmentId }, transaction);
}
