using System.Globalization;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Email;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.JoinLinks;
using Teletherapy.Scheduling.Outbox;

namespace Teletherapy.Scheduling.Reminders;

/// <summary>
/// R8, R9: puts reminders in the outbox once they are due (24 h before the start) for clinics with the reminders
/// feature on: an email with a <b>Join the session</b> link for that occurrence to contacts with email reminders on,
/// and a text without any link to contacts with SMS reminders on. Each reminder has a unique key per (appointment,
/// contact, channel, start), so it is queued once however many processes run this, and a reschedule leads to a new one.
/// After downtime, every reminder still due (appointment not yet started) is caught up on the next pass.
/// </summary>
internal sealed partial class ReminderScheduler(
    Database database,
    EmailComposer composer,
    OutboxSignal signal,
    TimeProvider time,
    IOptions<NotificationOptions> options,
    ILogger<ReminderScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogPassFailed(ex);
            }

            try
            {
                await Task.Delay(options.Value.ReminderPollInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Queues every reminder due now that is not queued yet; returns how many were queued.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        List<Candidate> candidates;
        await using (var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            candidates = (await connection.QueryAsync<Candidate>(
                """
                SELECT a.id AS appointment_id, a.start_at, a.end_at, a.revision, a.clinic_id, c.id AS contact_id
                FROM appointments a
                JOIN clinics cl ON cl.id = a.clinic_id
                JOIN contacts c ON c.patient_id = a.patient_id
                WHERE a.status = 'scheduled' AND a.teletherapy = TRUE AND cl.reminders_enabled = TRUE
                  AND a.start_at > @now AND a.start_at <= @horizon
                  AND (c.email_reminders = TRUE OR c.sms_reminders = TRUE) AND c.removed_at IS NULL
                ORDER BY a.start_at, a.id, c.id
                """,
                new { now, horizon = now + JoinPolicy.ReminderLeadTime }).ConfigureAwait(false)).ToList();
        }

        var queued = 0;
        foreach (var candidate in candidates)
        {
            foreach (var channel in new[] { ReminderChannels.Email, ReminderChannels.Sms })
            {
                if (await QueueAsync(candidate, channel, now, cancellationToken).ConfigureAwait(false))
                {
                    queued++;
                }
            }
        }

        if (queued > 0)
        {
            signal.Notify();
        }

        return queued;
    }

    internal static string DedupeKey(Guid appointmentId, Guid contactId, ReminderChannels channel, DateTimeOffset start) =>
        string.Create(CultureInfo.InvariantCulture, $"reminder:{appointmentId:N}:{contactId:N}:{channel.ToString().ToLowerInvariant()}:{start.ToUnixTimeSeconds()}");

    private async Task<bool> QueueAsync(Candidate candidate, ReminderChannels channel, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = DedupeKey(candidate.AppointmentId, candidate.ContactId, channel, candidate.StartAt);
        var (connection, transaction) = await database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outbox_messages WHERE dedupe_key = @key", new { key }, transaction).ConfigureAwait(false) > 0)
            {
                return false;
            }

            // Re-read inside the transaction: the preferences or the appointment may have changed since the scan.
            var appointment = await SchedulingReader.AppointmentAsync(connection, transaction, candidate.AppointmentId).ConfigureAwait(false);
            var clinic = await SchedulingReader.ClinicAsync(connection, transaction, candidate.ClinicId).ConfigureAwait(false);
            var contact = (await SchedulingReader.ContactsAsync(connection, transaction, appointment?.PatientId ?? Guid.Empty).ConfigureAwait(false))
                .FirstOrDefault(c => c.Id == candidate.ContactId);
            if (appointment is null || clinic is null || contact is null
                || !JoinPolicy.IsReminderDue(appointment.ToFacts(), now)
                || appointment.StartAt != candidate.StartAt
                || !JoinPolicy.RemindersFor(clinic.RemindersEnabled, contact.ToFacts()).HasFlag(channel))
            {
                return false;
            }

            // The unique dedupe key is claimed first: a second process queueing the same reminder waits here and then
            // finds it taken, before it has issued a link.
            var messageId = Guid.NewGuid();
            var isEmail = channel == ReminderChannels.Email;
            var entry = new OutboxEntry(
                messageId, isEmail ? OutboxChannels.Email : OutboxChannels.Sms, OutboxKinds.Reminder, appointment.Id, (isEmail ? contact.Email : contact.Phone)!,
                isEmail ? string.Empty : EmailComposer.SmsReminder(clinic, appointment.StartAt), now, appointment.StartAt, key);
            if (!await OutboxWriter.EnqueueAsync(connection, transaction, entry, now).ConfigureAwait(false))
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return false;
            }

            if (isEmail)
            {
                var token = await JoinLinkIssuer.IssueAsync(connection, transaction, appointment.Id, contact.Id, JoinLinkKinds.Reminder, appointment.EndAt, now).ConfigureAwait(false);
                var message = composer.Reminder(messageId, clinic, contact, new EmailAppointment(appointment.Id, appointment.StartAt, appointment.EndAt, appointment.Revision), token);
                await connection.ExecuteAsync(
                    "UPDATE outbox_messages SET payload = @payload WHERE id = @messageId", new { payload = OutboxWriter.Serialize(message), messageId }, transaction).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            LogQueued(appointment.Id, channel);
            return true;
        }
    }

    private sealed class Candidate
    {
        public Guid AppointmentId { get; set; }

        public DateTimeOffset StartAt { get; set; }

        public DateTimeOffset EndAt { get; set; }

        public int Revision { get; set; }

        public Guid ClinicId { get; set; }

        public Guid ContactId { get; set; }
    }

    [LoggerMessage(EventId = 2300, Level = LogLevel.Information, Message = "Reminder ({Channel}) queued for appointment {AppointmentId}")]
    private partial void LogQueued(Guid appointmentId, ReminderChannels channel);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Error, Message = "Reminder pass failed")]
    private partial void LogPassFailed(Exception exception);
}
