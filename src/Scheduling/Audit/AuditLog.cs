using Dapper;
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
public static class AuditActorKinds
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
public sealed record AuditEvent(long Id, Guid AppointmentId, DateTimeOffset At, string Kind, string ActorKind, Guid? ActorId, Guid? SubjectId, string? Reason);

/// <summary>Face-to-face time of an appointment, computed from its audit events.</summary>
public sealed record FaceToFaceTime(Guid AppointmentId, double Minutes, long Seconds);

/// <summary>
/// The append-only audit log of appointments (link opened, knocked, admitted/denied/sent back, joined, left, dropped,
/// rejoined, ended, refused joins). The session hub appends its events here; the API reads them.
/// </summary>
public sealed class AuditLog
{
    private readonly Database _database;
    private readonly TimeProvider _time;

    internal AuditLog(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>Appends an event at the current time. <paramref name="subjectId"/>: the contact an admit/deny/send-back acted on.</summary>
    public async Task AppendAsync(Guid appointmentId, string kind, AuditActor actor, string? reason = null, Guid? subjectId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "INSERT INTO audit_events (appointment_id, at, kind, actor_kind, actor_id, subject_id, reason) VALUES (@appointmentId, @at, @kind, @actorKind, @actorId, @subjectId, @reason)",
            new { appointmentId, at = _time.GetUtcNow(), kind, actorKind = actor.Kind, actorId = actor.Id, subjectId, reason }).ConfigureAwait(false);
    }

    /// <summary>The events of an appointment in the order they happened.</summary>
    public async Task<IReadOnlyList<AuditEvent>> ListAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
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
