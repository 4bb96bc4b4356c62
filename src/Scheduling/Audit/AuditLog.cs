using System.Collections.Concurrent;
using Dapper;
using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Audit;

/// <summary>Kinds of audit events (append-only log per appointment).</summary>
public static class AuditKinds
{
    public const string LinkOpened = "link-opened";
    public const string Knocked = "knocked";
    public const string Admitted = "admitted";
    public const string Denied = "denied";
    public const string SentBack = "sent-back";
    public const string Joined = "joined";
    public const string Left = "left";
    public const string Dropped = "dropped";
    public const string Rejoined = "rejoined";
    /// <summary>The session ended: by End session (no reason), or closed by a change to the appointment (reason <c>cancelled</c>, <c>too-early</c>…).</summary>
    public const string Ended = "ended";

    /// <summary>
    /// Someone was sent away from the session by a change to the appointment: the actor made the change, the subject
    /// (a contact, or a staff member) was sent away, the reason is the rule they now fail (<c>link-revoked</c>, <c>not-listed</c>).
    /// </summary>
    public const string Removed = "removed";

    /// <summary>A join attempt refused by a rule; the event's reason is the rule's reason (<c>not-listed</c>, <c>too-early</c>…).</summary>
    public const string JoinRefused = "join-refused";
}

/// <summary>Kinds of actors.</summary>
internal static class AuditActorKinds
{
    public const string Staff = "staff";
    public const string Contact = "contact";
    public const string Integrator = "integrator";
    public const string System = "system";

    /// <summary>Nobody signed in (a refused or locked sign-in).</summary>
    public const string Anonymous = "anonymous";
}

/// <summary>Who did something: a staff member, a contact, an integrator or the system.</summary>
public sealed record AuditActor(string Kind, Guid? Id)
{
    public static AuditActor Staff(Guid id) => new(AuditActorKinds.Staff, id);

    public static AuditActor Contact(Guid id) => new(AuditActorKinds.Contact, id);

    public static AuditActor Integrator { get; } = new(AuditActorKinds.Integrator, null);

    public static AuditActor System { get; } = new(AuditActorKinds.System, null);

    public static AuditActor Anonymous { get; } = new(AuditActorKinds.Anonymous, null);

    /// <summary>The caller of the REST API: the signed-in staff member, else the integrator's API key.</summary>
    public static AuditActor From(Access.Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.StaffId is { } staffId ? Staff(staffId) : Integrator;
    }
}

/// <summary>
/// One audit event. For <c>admitted</c>, <c>denied</c> and <c>sent-back</c> the actor is the therapist and <see cref="SubjectId"/>
/// the contact; for <c>removed</c> the actor is who changed the appointment and the subject who was sent away.
/// </summary>
internal sealed record AuditEvent(long Id, Guid AppointmentId, DateTimeOffset At, string Kind, string ActorKind, Guid? ActorId, Guid? SubjectId, string? Reason);

/// <summary>Face-to-face time of an appointment, computed from its audit events.</summary>
public sealed record FaceToFaceTime(Guid AppointmentId, double Minutes, long Seconds);

/// <summary>
/// The append-only audit log of appointments (link opened, knocked, admitted/denied/sent back, joined, left, dropped,
/// rejoined, ended, refused joins). The session hub appends its events here; the API reads them.
/// </summary>
/// <remarks>
/// Sessions in progress go on while the database is unavailable, and what happens in them meanwhile (admitted, left,
/// dropped) is still part of the record: an event that cannot be written is kept in memory with the time it happened
/// and written, in order, as soon as the database answers again (by the next append or read, or by
/// <see cref="Data.OutageBacklog"/> within seconds). Only a process that dies during the outage loses the events it kept.
/// </remarks>
public sealed partial class AuditLog
{
    /// <summary>Events kept during an outage at most; beyond that an append fails like any other write.</summary>
    internal const int MaxKept = 100_000;

    private static readonly Prometheus.Gauge KeptGauge = Prometheus.Metrics.CreateGauge(
        "teletherapy_audit_events_kept", "Audit events kept in memory because the database was unavailable, not yet written.");

    private readonly Database _database;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditLog> _logger;
    private readonly ConcurrentQueue<KeptEvent> _kept = new();
    private int _writing;

    internal AuditLog(Database database, TimeProvider time, ILogger<AuditLog> logger)
    {
        _database = database;
        _time = time;
        _logger = logger;
    }

    /// <summary>Events waiting for the database.</summary>
    internal int KeptCount => _kept.Count;

    /// <summary>Appends an event at the current time. <paramref name="subjectId"/>: the contact an admit/deny/send-back acted on.</summary>
    public Task AppendAsync(Guid appointmentId, string kind, AuditActor actor, string? reason = null, Guid? subjectId = null, CancellationToken cancellationToken = default) =>
        AppendAtAsync(appointmentId, _time.GetUtcNow(), kind, actor, reason, subjectId, cancellationToken);

    /// <summary>Appends an event that happened at <paramref name="at"/> (one written after a database outage, at the time it happened).</summary>
    internal async Task AppendAtAsync(Guid appointmentId, DateTimeOffset at, string kind, AuditActor actor, string? reason = null, Guid? subjectId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        var entry = new KeptEvent(appointmentId, at, kind, actor.Kind, actor.Id, subjectId, reason);
        if (!_kept.IsEmpty && !await WriteKeptAsync(cancellationToken).ConfigureAwait(false))
        {
            Keep(entry, null);
            return;
        }

        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await InsertAsync(connection, entry).ConfigureAwait(false);
        }
        catch (Exception ex) when (Database.IsUnavailable(ex) && _kept.Count < MaxKept)
        {
            _database.ForgetIdleConnections();
            Keep(entry, ex);
        }
    }

    /// <summary>Writes the events kept during an outage, oldest first; false while the database is still unavailable.</summary>
    internal async Task<bool> WriteKeptAsync(CancellationToken cancellationToken = default)
    {
        if (_kept.IsEmpty)
        {
            return true;
        }

        if (Interlocked.Exchange(ref _writing, 1) == 1)
        {
            // Another caller is writing them; this one's event queues behind them.
            return false;
        }

        try
        {
            var written = 0;
            try
            {
                await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
                while (_kept.TryPeek(out var entry))
                {
                    try
                    {
                        await InsertAsync(connection, entry).ConfigureAwait(false);
                        written++;
                    }
                    catch (System.Data.Common.DbException ex) when (!Database.IsUnavailable(ex))
                    {
                        // The row itself is refused (its appointment was deleted meanwhile): it cannot be written later either.
                        LogKeptRefused(entry.Kind, ex.GetType().Name);
                    }

                    _kept.TryDequeue(out _);
                }
            }
            catch (Exception ex) when (Database.IsUnavailable(ex))
            {
                _database.ForgetIdleConnections();
                return false;
            }
            finally
            {
                KeptGauge.Set(_kept.Count);
                if (written > 0)
                {
                    LogKeptWritten(written, _kept.Count);
                }
            }

            return _kept.IsEmpty;
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    private void Keep(KeptEvent entry, Exception? cause)
    {
        _kept.Enqueue(entry);
        KeptGauge.Set(_kept.Count);
        LogKept(entry.Kind, _kept.Count, cause?.GetType().Name ?? "earlier events wait");
    }

    private static Task<int> InsertAsync(System.Data.Common.DbConnection connection, KeptEvent e) =>
        connection.ExecuteAsync(
            "INSERT INTO audit_events (appointment_id, at, kind, actor_kind, actor_id, subject_id, reason) VALUES (@AppointmentId, @At, @Kind, @ActorKind, @ActorId, @SubjectId, @Reason)",
            e);

    [LoggerMessage(EventId = 2902, Level = LogLevel.Error, Message = "Audit event {Kind} kept during a database outage was refused by the database ({ErrorType}) and dropped")]
    private partial void LogKeptRefused(string kind, string errorType);

    private sealed record KeptEvent(Guid AppointmentId, DateTimeOffset At, string Kind, string ActorKind, Guid? ActorId, Guid? SubjectId, string? Reason);

    [LoggerMessage(EventId = 2900, Level = LogLevel.Warning, Message = "Audit event {Kind} kept in memory: the database is unavailable ({Reason}); {Kept} events wait")]
    private partial void LogKept(string kind, int kept, string reason);

    [LoggerMessage(EventId = 2901, Level = LogLevel.Information, Message = "Wrote {Written} audit events kept during a database outage; {Left} still wait")]
    private partial void LogKeptWritten(int written, int left);

    /// <summary>The events of an appointment in the order they happened.</summary>
    internal async Task<IReadOnlyList<AuditEvent>> ListAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        await WriteKeptAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<AuditRow>(
            "SELECT id, appointment_id, at, kind, actor_kind, actor_id, subject_id, reason FROM audit_events WHERE appointment_id = @appointmentId ORDER BY at, id",
            new { appointmentId }).ConfigureAwait(false);
        return rows.Select(r => new AuditEvent(r.Id, r.AppointmentId, r.At, r.Kind, r.ActorKind, r.ActorId, r.SubjectId, r.Reason)).ToList();
    }

    /// <summary>Face-to-face time so far (see <see cref="FaceToFace"/>).</summary>
    public async Task<FaceToFaceTime> FaceToFaceAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        var events = await ListAsync(appointmentId, cancellationToken).ConfigureAwait(false);
        var total = FaceToFace.Compute(events, _time.GetUtcNow());
        return new FaceToFaceTime(appointmentId, Math.Round(total.TotalMinutes, 2), (long)total.TotalSeconds);
    }

    private sealed class AuditRow
    {
        public long Id { get; set; }

        public Guid AppointmentId { get; set; }

        public DateTimeOffset At { get; set; }

        public string Kind { get; set; } = "";

        public string ActorKind { get; set; } = "";

        public Guid? ActorId { get; set; }

        public Guid? SubjectId { get; set; }

        public string? Reason { get; set; }
    }
}
