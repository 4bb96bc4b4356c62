using Dapper;
using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.JoinLinks;
using Teletherapy.Scheduling.Outbox;

namespace Teletherapy.Scheduling.Appointments;

/// <summary>Use case: cancel an appointment; its join links stop working (<c>cancelled</c>) and unsent emails about it are discarded.</summary>
public sealed partial class CancelAppointment
{
    private readonly Database _database;
    private readonly TimeProvider _time;
    private readonly ILogger<CancelAppointment> _logger;

    internal CancelAppointment(Database database, TimeProvider time, ILogger<CancelAppointment> logger)
    {
        _database = database;
        _time = time;
        _logger = logger;
    }

    public async Task<Result<AppointmentView>> HandleAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
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
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                LogCancelled(row.Id);
            }

            return Result<AppointmentView>.Ok(AppointmentView.From(row));
        }
    }

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Appointment {AppointmentId} cancelled; links revoked")]
    private partial void LogCancelled(Guid appointmentId);
}
