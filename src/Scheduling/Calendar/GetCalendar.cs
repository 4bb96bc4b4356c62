using Dapper;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Scheduling.Calendar;

/// <summary>One calendar entry; <see cref="Join"/> is the therapist's join decision now (null for an integrator's view).</summary>
public sealed record CalendarEntry(AppointmentView Appointment, string PatientName, JoinDecision? Join);

/// <summary>Who looks at the calendar: a staff member, and whether their role joins sessions.</summary>
public sealed record CalendarViewer(Guid StaffId, bool MayJoin);

/// <summary>Use case: the calendar between two times, for one therapist (R4) or for everyone (integrators).</summary>
public sealed class GetCalendar
{
    /// <summary>Longest range one request may ask for.</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    private readonly Database _database;
    private readonly TimeProvider _time;

    internal GetCalendar(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>A therapist's own calendar (<paramref name="staffId"/>), or everyone's (null), with the join decision of that therapist.</summary>
    internal Task<Result<IReadOnlyList<CalendarEntry>>> HandleAsync(DateTimeOffset? from, DateTimeOffset? to, Guid? staffId, CancellationToken cancellationToken = default) =>
        HandleAsync(from, to, staffId, staffId is { } id ? new CalendarViewer(id, MayJoin: true) : null, cancellationToken);

    /// <summary>
    /// The appointments between two times that list <paramref name="therapistId"/> (all when null); each with the join
    /// decision of <paramref name="viewer"/> (none for an integrator; <c>forbidden</c> for a role that never joins).
    /// </summary>
    public async Task<Result<IReadOnlyList<CalendarEntry>>> HandleAsync(
        DateTimeOffset? from, DateTimeOffset? to, Guid? therapistId, CalendarViewer? viewer, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var start = from ?? now.AddDays(-1);
        var end = to ?? start.AddDays(14);
        if (end <= start)
        {
            return Result<IReadOnlyList<CalendarEntry>>.Invalid("to", "'to' must be after 'from'.");
        }

        if (end - start > MaxRange)
        {
            return Result<IReadOnlyList<CalendarEntry>>.Invalid("to", "At most 366 days per request.");
        }

        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await SchedulingReader.AppointmentsAsync(connection, start, end, therapistId).ConfigureAwait(false);
        var names = (await connection.QueryAsync<PatientName>(
            "SELECT p.id, p.name FROM patients p WHERE p.id IN (SELECT a.patient_id FROM appointments a WHERE a.start_at < @end AND a.end_at > @start)",
            new { start, end }).ConfigureAwait(false)).ToDictionary(p => p.Id, p => p.Name);
        IReadOnlyList<CalendarEntry> entries = rows.Select(r => new CalendarEntry(
            AppointmentView.From(r),
            names.GetValueOrDefault(r.PatientId, ""),
            viewer switch
            {
                null => null,
                { MayJoin: false } => JoinDecision.Refuse(JoinReasons.Forbidden),
                _ => JoinPolicy.CanTherapistJoin(r.ToFacts(), viewer.StaffId, now),
            })).ToList();
        return Result<IReadOnlyList<CalendarEntry>>.Ok(entries);
    }

    /// <summary>One appointment by id, or null.</summary>
    public async Task<AppointmentView?> FindAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await SchedulingReader.AppointmentAsync(connection, null, appointmentId).ConfigureAwait(false);
        return row is null ? null : AppointmentView.From(row);
    }

    private sealed class PatientName
    {
        public Guid Id { get; set; }

        public string Name { get; set; } = "";
    }
}
