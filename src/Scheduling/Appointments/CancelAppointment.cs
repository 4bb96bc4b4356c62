using Dapper;
using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Email;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.JoinLinks;
using Teletherapy.Scheduling.Outbox;

namespace Teletherapy.Scheduling.Appointments;

/// <summary>
/// Use case: cancel an appointment; its join links stop working (<c>cancelled</c>), unsent emails about it are
/// discarded, and (for a teletherapy appointment still ahead) the contacts who were sent a link are emailed that it is
/// cancelled, in the same transaction. Once that is committed, the <see cref="IAppointmentChangeListener"/>s are told (the session hub closes
/// the room of anyone already in it).
/// </summary>
public sealed partial class CancelAppointment
{
    private readonly Database _database;
    private readonly AppointmentChangeNotifier _changes;
    private readonly EmailComposer _composer;
    private readonly OutboxSignal _signal;
    private readonly TimeProvider _time;
    private readonly ILogger<CancelAppointment> _logger;

    internal CancelAppointment(Database database, AppointmentChangeNotifier changes, EmailComposer composer, OutboxSignal signal, TimeProvider time, ILogger<CancelAppointment> logger)
    {
        _database = database;
        _composer = composer;
        _signal = signal;
        _changes = changes;
        _time = time;
        _logger = logger;
    }

    /// <summary>Cancels on behalf of the system (no person or integrator named).</summary>
    internal Task<Result<AppointmentView>> HandleAsync(Guid appointmentId, CancellationToken cancellationToken = default) =>
        HandleAsync(appointmentId, AuditActor.System, cancellationToken);

    /// <summary>Cancels; <paramref name="by"/> is who did it (the audit entry of a closed session names them). Cancelling twice is harmless.</summary>
    public async Task<Result<AppointmentView>> HandleAsync(Guid appointmentId, AuditActor by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(by);
        AppointmentView view;
        var cancelled = false;
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var row = await SchedulingReader.AppointmentAsync(connection, transaction, appointmentId).ConfigureAwait(false);
            if (row is null)
            {
                return Result<AppointmentView>.NotFound();
            }

            if (row.Status != AppointmentStatus.Cancelled)
            {
                var now = _time.GetUtcNow();
                row.Status = AppointmentStatus.Cancelled;
                await connection.ExecuteAsync(
                    "UPDATE appointments SET status = @Status, updated_at = @now WHERE id = @Id", new { row.Status, now, row.Id }, transaction).ConfigureAwait(false);
                await JoinLinkIssuer.RevokeAllAsync(connection, transaction, row.Id, RevokeReasons.Cancelled, now).ConfigureAwait(false);
                await OutboxWriter.DiscardPendingAsync(connection, transaction, row.Id, now).ConfigureAwait(false);
                var emails = 0;
                if (row.Teletherapy && row.EndAt > now)
                {
                    // Everyone who was sent a link for it is told, in the same transaction as the cancel.
                    var clinic = (await SchedulingReader.ClinicAsync(connection, transaction, row.ClinicId).ConfigureAwait(false))!;
                    var contacts = await SchedulingReader.ContactsAsync(connection, transaction, row.PatientId).ConfigureAwait(false);
                    emails = await ScheduledEmails.QueueCancelledAsync(connection, transaction, _composer, clinic, contacts, row, now).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                _signal.Notify();
                LogCancelled(row.Id, emails);
                cancelled = true;
            }

            view = AppointmentView.From(row);
        }

        if (cancelled)
        {
            // Only after the commit: nobody is sent away for a cancellation that was rolled back.
            await _changes.CancelledAsync(new AppointmentCancelled(view.Id, by)).ConfigureAwait(false);
        }

        return Result<AppointmentView>.Ok(view);
    }

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Appointment {AppointmentId} cancelled; links revoked, {Emails} cancellation emails queued")]
    private partial void LogCancelled(Guid appointmentId, int emails);
}
