using System.Collections.Concurrent;
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
/// <remarks>
/// The session in progress does not depend on the database, so neither does ending it: while the database is
/// unavailable the end is kept in memory with the time it happened and written (the appointment's status, then the
/// audit event at that time) as soon as the database answers again — by the next join check, which refuses a kept
/// end's links with <c>ended</c> meanwhile, or by <see cref="OutageBacklog"/> within seconds. Only a process that dies
/// during the outage loses the ends it kept (the appointment then stays <c>scheduled</c>, its room empty).
/// </remarks>
public sealed partial class EndSession
{
    /// <summary>Ends kept during an outage at most; beyond that an end fails like any other write.</summary>
    internal const int MaxKept = 10_000;

    private static readonly Prometheus.Gauge KeptGauge = Prometheus.Metrics.CreateGauge(
        "teletherapy_session_ends_kept", "Session ends kept in memory because the database was unavailable, not yet written.");

    private readonly Database _database;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger<EndSession> _logger;
    private readonly ConcurrentDictionary<Guid, KeptEnd> _kept = new();
    private int _writing;

    internal EndSession(Database database, AuditLog audit, TimeProvider time, ILogger<EndSession> logger)
    {
        _database = database;
        _audit = audit;
        _time = time;
        _logger = logger;
    }

    /// <summary>Ends waiting for the database.</summary>
    internal int KeptCount => _kept.Count;

    /// <summary>Whether the end of this appointment's session is kept, not yet written: its links are refused <c>ended</c>.</summary>
    internal bool IsKept(Guid appointmentId) => _kept.ContainsKey(appointmentId);

    /// <summary>
    /// Ends the session; false when the appointment does not exist. Ending twice is harmless. While the database is
    /// unavailable the end is kept (true) and written when it is back.
    /// </summary>
    public async Task<bool> HandleAsync(Guid appointmentId, AuditActor endedBy, CancellationToken cancellationToken = default)
    {
        var end = new KeptEnd(appointmentId, endedBy, _time.GetUtcNow());
        try
        {
            if (!_kept.IsEmpty)
            {
                await WriteKeptAsync(cancellationToken).ConfigureAwait(false);
            }

            return await ApplyAsync(end, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Database.IsUnavailable(ex) && _kept.Count < MaxKept)
        {
            _database.ForgetIdleConnections();
            _kept.TryAdd(appointmentId, end);
            KeptGauge.Set(_kept.Count);
            LogKept(appointmentId, ex.GetType().Name, _kept.Count);
            return true;
        }
    }

    /// <summary>Writes the ends kept during an outage; false while the database is still unavailable (or another caller writes them).</summary>
    internal async Task<bool> WriteKeptAsync(CancellationToken cancellationToken = default)
    {
        if (_kept.IsEmpty)
        {
            return true;
        }

        if (Interlocked.Exchange(ref _writing, 1) == 1)
        {
            return false; // another caller is writing them
        }

        try
        {
            foreach (var end in _kept.Values.OrderBy(e => e.At))
            {
                try
                {
                    await ApplyAsync(end, cancellationToken).ConfigureAwait(false);
                    LogKeptWritten(end.AppointmentId);
                }
                catch (Exception ex) when (Database.IsUnavailable(ex))
                {
                    _database.ForgetIdleConnections();
                    return false;
                }
                catch (System.Data.Common.DbException ex)
                {
                    // Refused for good (not an outage): trying again would not help.
                    LogKeptRefused(end.AppointmentId, ex.GetType().Name);
                }

                _kept.TryRemove(end.AppointmentId, out _);
                KeptGauge.Set(_kept.Count);
            }

            return true;
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    private async Task<bool> ApplyAsync(KeptEnd end, CancellationToken cancellationToken)
    {
        int changed;
        await using (var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            var exists = await connection.ExecuteScalarAsync<int>(
                "SELECT COUNT(*) FROM appointments WHERE id = @AppointmentId", new { end.AppointmentId }).ConfigureAwait(false);
            if (exists == 0)
            {
                return false;
            }

            changed = await connection.ExecuteAsync(
                "UPDATE appointments SET status = @ended, updated_at = @At WHERE id = @AppointmentId AND status = @scheduled",
                new { ended = AppointmentStatus.Ended, scheduled = AppointmentStatus.Scheduled, end.At, end.AppointmentId }).ConfigureAwait(false);
        }

        if (changed > 0)
        {
            await _audit.AppendAtAsync(end.AppointmentId, end.At, AuditKinds.Ended, end.EndedBy, cancellationToken: cancellationToken).ConfigureAwait(false);
            LogEnded(end.AppointmentId);
        }

        return true;
    }

    private sealed record KeptEnd(Guid AppointmentId, AuditActor EndedBy, DateTimeOffset At);

    [LoggerMessage(EventId = 2210, Level = LogLevel.Information, Message = "Session of appointment {AppointmentId} ended")]
    private partial void LogEnded(Guid appointmentId);

    [LoggerMessage(EventId = 2211, Level = LogLevel.Warning, Message = "End of the session of appointment {AppointmentId} kept in memory: the database is unavailable ({ErrorType}); {Kept} ends wait")]
    private partial void LogKept(Guid appointmentId, string errorType, int kept);

    [LoggerMessage(EventId = 2212, Level = LogLevel.Information, Message = "Wrote the end of the session of appointment {AppointmentId} kept during a database outage")]
    private partial void LogKeptWritten(Guid appointmentId);

    [LoggerMessage(EventId = 2213, Level = LogLevel.Error, Message = "End of the session of appointment {AppointmentId} kept during a database outage was refused by the database ({ErrorType}) and dropped")]
    private partial void LogKeptRefused(Guid appointmentId, string errorType);
}
