using Dapper;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.JoinLinks;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Join;

/// <summary>An appointment as the session and waiting room need it.</summary>
public sealed record SessionAppointment(
    Guid Id,
    Guid PatientId,
    DateTimeOffset Start,
    DateTimeOffset End,
    DateTimeOffset OpensAt,
    DateTimeOffset ClosesAt,
    string Status,
    IReadOnlyList<Guid> TherapistIds);

/// <summary>The contact a join link belongs to; <see cref="Role"/> is <c>patient</c> or <c>caregiver</c>.</summary>
public sealed record JoinContact(Guid Id, string Name, string Role);

/// <summary>Answer of <see cref="JoinService.CheckTherapistJoinAsync"/>; <see cref="Appointment"/> is null when not found.</summary>
public sealed record TherapistJoinCheck(JoinDecision Decision, SessionAppointment? Appointment);

/// <summary>
/// Answer of <see cref="JoinService.ResolveJoinTokenAsync"/>: whether the link is good (<see cref="Decision"/>), whether
/// the room is open now (a good link before the room opens waits with a countdown to <see cref="SessionAppointment.OpensAt"/>),
/// and who and what it is for.
/// </summary>
public sealed record JoinTokenCheck(JoinDecision Decision, bool RoomOpen, SessionAppointment? Appointment, JoinContact? Contact);

/// <summary>
/// The join rules applied to stored appointments and links, for the REST API and the session hub alike. Refused
/// attempts are written to the audit log.
/// </summary>
public sealed class JoinService
{
    private readonly Database _database;
    private readonly AuditLog _audit;
    private readonly EndSession _ends;
    private readonly TimeProvider _time;

    internal JoinService(Database database, AuditLog audit, EndSession ends, TimeProvider time)
    {
        _database = database;
        _audit = audit;
        _ends = ends;
        _time = time;
    }

    /// <summary>R1, R2: may this staff member join the appointment's session now?</summary>
    public async Task<TherapistJoinCheck> CheckTherapistJoinAsync(Guid appointmentId, Guid staffId, CancellationToken cancellationToken = default)
    {
        AppointmentRow? row;
        StaffStanding? standing;
        await _ends.WriteKeptAsync(cancellationToken).ConfigureAwait(false);
        await using (var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            row = await SchedulingReader.AppointmentAsync(connection, null, appointmentId).ConfigureAwait(false);
            standing = await connection.QuerySingleOrDefaultAsync<StaffStanding>("SELECT role, active FROM staff WHERE id = @staffId", new { staffId }).ConfigureAwait(false);
        }

        if (row is null)
        {
            return new TherapistJoinCheck(JoinDecision.Refuse(JoinReasons.NotFound), null);
        }

        // The account is read afresh on every join: a deactivated account or one made scheduler joins nothing.
        var decision = standing is { Active: true } && StaffRoles.CanBeListed(standing.Role)
            ? JoinPolicy.CanTherapistJoin(FactsOf(row), staffId, _time.GetUtcNow())
            : JoinDecision.Refuse(JoinReasons.Forbidden);
        if (!decision.Allowed)
        {
            await _audit.AppendAsync(row.Id, AuditKinds.JoinRefused, AuditActor.Staff(staffId), decision.Reason, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return new TherapistJoinCheck(decision, ToSession(row));
    }

    /// <summary>The appointment a join link is for, or null for an unknown token: a lookup only, no rule judged, nothing audited.</summary>
    public async Task<Guid?> FindAppointmentOfTokenAsync(string token, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await ResolveJoinLink.FindAsync(connection, token).ConfigureAwait(false))?.Link.AppointmentId;
    }

    /// <summary>Derived rules: is this join link good now, and for whom? A refusal is audited (except an unknown token).</summary>
    public async Task<JoinTokenCheck> ResolveJoinTokenAsync(string token, CancellationToken cancellationToken = default)
    {
        FoundJoinLink? found;
        AppointmentRow? row = null;
        await _ends.WriteKeptAsync(cancellationToken).ConfigureAwait(false);
        await using (var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            found = await ResolveJoinLink.FindAsync(connection, token).ConfigureAwait(false);
            if (found is not null)
            {
                row = await SchedulingReader.AppointmentAsync(connection, null, found.Link.AppointmentId).ConfigureAwait(false);
            }
        }

        if (found is null || row is null)
        {
            return new JoinTokenCheck(JoinDecision.Refuse(JoinReasons.NotFound), false, null, null);
        }

        var now = _time.GetUtcNow();
        var facts = FactsOf(row);
        var decision = JoinPolicy.CheckJoinLink(facts, found.Link, now);
        if (!decision.Allowed)
        {
            await _audit.AppendAsync(row.Id, AuditKinds.JoinRefused, AuditActor.Contact(found.Contact.Id), decision.Reason, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        var contact = new JoinContact(found.Contact.Id, found.Contact.Name, found.Contact.Role);
        return new JoinTokenCheck(decision, decision.Allowed && JoinPolicy.IsRoomOpen(facts, now), ToSession(row), contact);
    }

    /// <summary>The appointment's facts, <c>ended</c> while the end of its session is kept during a database outage.</summary>
    private AppointmentFacts FactsOf(AppointmentRow row) =>
        _ends.IsKept(row.Id) ? row.ToFacts() with { Status = AppointmentStatus.Ended } : row.ToFacts();

    private sealed class StaffStanding
    {
        public string Role { get; set; } = "";

        public bool Active { get; set; }
    }

    private static SessionAppointment ToSession(AppointmentRow row)
    {
        var facts = row.ToFacts();
        return new SessionAppointment(row.Id, row.PatientId, row.StartAt, row.EndAt, JoinPolicy.OpensAt(facts), JoinPolicy.ClosesAt(facts), row.Status, row.TherapistIds.ToList());
    }
}
