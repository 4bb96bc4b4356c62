using System.Data.Common;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Email;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.JoinLinks;
using Teletherapy.Scheduling.Outbox;

namespace Teletherapy.Scheduling.Appointments;

/// <summary>
/// R6, R7: queues the scheduled-appointment email inside the caller's transaction: one message per recipient (the
/// primary contact and every contact with email reminders on), each with its own join link for <paramref name="target"/>.
/// </summary>
internal static class ScheduledEmails
{
    /// <returns>The issued join token per contact id.</returns>
    public static async Task<Dictionary<Guid, string>> QueueAsync(
        DbConnection connection,
        DbTransaction transaction,
        EmailComposer composer,
        ClinicRow clinic,
        IReadOnlyList<ContactRow> contacts,
        AppointmentRow target,
        bool rescheduled,
        int laterOccurrences,
        DateTimeOffset now,
        DateTimeOffset? previousStart = null)
    {
        var tokens = new Dictionary<Guid, string>();
        var recipients = JoinPolicy.ScheduledEmailRecipients(contacts.Select(c => c.ToFacts())).Select(f => f.Id).ToHashSet();
        foreach (var contact in contacts.Where(c => recipients.Contains(c.Id)))
        {
            var token = await JoinLinkIssuer.IssueAsync(connection, transaction, target.Id, contact.Id, JoinLinkKinds.Scheduled, target.EndAt, now).ConfigureAwait(false);
            tokens[contact.Id] = token;
            var messageId = Guid.NewGuid();
            var message = composer.ScheduledAppointment(
                messageId, clinic, contact, new EmailAppointment(target.Id, target.StartAt, target.EndAt, target.Revision), token, rescheduled, laterOccurrences, previousStart);
            await OutboxWriter.EnqueueAsync(
                connection,
                transaction,
                new OutboxEntry(messageId, OutboxChannels.Email, rescheduled ? OutboxKinds.Rescheduled : OutboxKinds.Scheduled, target.Id, contact.Email!, OutboxWriter.Serialize(message), now),
                now).ConfigureAwait(false);
        }

        return tokens;
    }

    /// <summary>The cancellation notice, to the same contacts the scheduled email goes to (R6), inside the caller's transaction.</summary>
    public static async Task<int> QueueCancelledAsync(
        DbConnection connection, DbTransaction transaction, EmailComposer composer, ClinicRow clinic, IReadOnlyList<ContactRow> contacts, AppointmentRow appointment, DateTimeOffset now)
    {
        var recipients = JoinPolicy.ScheduledEmailRecipients(contacts.Select(c => c.ToFacts())).Select(f => f.Id).ToHashSet();
        var count = 0;
        foreach (var contact in contacts.Where(c => recipients.Contains(c.Id) && c.Email is not null))
        {
            var messageId = Guid.NewGuid();
            var message = composer.Cancelled(messageId, clinic, contact, new EmailAppointment(appointment.Id, appointment.StartAt, appointment.EndAt, appointment.Revision));
            await OutboxWriter.EnqueueAsync(
                connection,
                transaction,
                new OutboxEntry(messageId, OutboxChannels.Email, OutboxKinds.Cancelled, appointment.Id, contact.Email!, OutboxWriter.Serialize(message), now),
                now).ConfigureAwait(false);
            count++;
        }

        return count;
    }
}
