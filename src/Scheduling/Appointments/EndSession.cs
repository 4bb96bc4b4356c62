using Dapper;
using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Scheduling.Appointments;

/// <summary>
/// Use case: a therapist ends the teletherapy session. The appointment becomes <c>ended</c>, so its links and the
/// calendar's Join Session refuse with <c>ended</c> from now on, and the end is written to the audit log.
/// </summary>
public sealed partial class EndSession
{
    private readonly Database _database;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger<EndSession> _logger;

    internal EndSession(Database database, AuditLog audit, TimeProvider time, ILogger<EndSession> logger)
    {
        _database = database;
        _audit = audit;
        _time = time;
        _logger = logger;
    }

    /// <summary>Ends the session; false when the appointment does not exist. Ending twice is harmless.</summary>
    public async Task<bool> HandleAsync(Guid appointmentId, AuditActor endedBy, CancellationToken cancellationToken = default)
    {
        int changed;
        await using (var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            var exists = await connection.ExecuteScalarAsync<int>(
                "SELECT COUNT(*) FROM appointments WHERE id = @appointmentId", new { appointmentId }).ConfigureAwait(false);
            if (exists == 0)
            {
                return false;
            }

            changed = await connection.ExecuteAsync(
                "UPDATE appointments SET status = @ended, updated_at = @now WHERE id = @appointmentId AND status = @scheduled",
                new { ended = AppointmentStatus.Ended, scheduled = AppointmentStatus.Scheduled, now = _time.GetUtcNow(), appointmentId }).ConfigureAwait(false);
        }

        if (changed > 0)
        {
            await _audit.AppendAsync(appointmentId, AuditKinds.Ended, endedBy, cancellationToken: cancellationToken).ConfigureAwait(false);
            LogEnded(appointmentId);
        }

        return true;
    }

    [LoggerMessage(EventId = 2210, Level = LogLevel.Information, Message = "Session of appointment {AppointmentId} ended")]
    private partial void LogEnded(Guid appointmentId);
}
