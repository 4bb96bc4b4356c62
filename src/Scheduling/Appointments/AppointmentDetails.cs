using Dapper;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Appointments;

/// <summary>One appointment as the details page shows it: with the patient's and therapists' names and the clinic's time zone.</summary>
public sealed record AppointmentDetail(
    Guid Id,
    Guid PatientId,
    string PatientName,
    Guid? SeriesId,
    int SeriesIndex,
    DateTimeOffset Start,
    DateTimeOffset End,
    DateTimeOffset OpensAt,
    bool Teletherapy,
    string Status,
    IReadOnlyList<Guid> TherapistIds,
    IReadOnlyList<TherapistOption> Therapists,
    string TimeZone);

/// <summary>An email about an appointment in the outbox: its kind, to whom, and whether it went out.</summary>
public sealed record AppointmentEmail(Guid Id, string Kind, string? RecipientName, string Recipient, DateTimeOffset CreatedAt, DateTimeOffset? SentAt, string Status);

/// <summary>An audit event with the names of its actor and subject (staff member or contact), for people to read.</summary>
public sealed record NamedAuditEvent(
    long Id, Guid AppointmentId, DateTimeOffset At, string Kind, string ActorKind, Guid? ActorId, string? ActorName, Guid? SubjectId, string? SubjectName, string? Reason);

/// <summary>Use cases behind the appointment details page: the appointment, its emails, its audit trail in names.</summary>
public sealed class AppointmentDetails
{
    private readonly Database _database;
    private readonly AuditLog _audit;

    internal AppointmentDetails(Database database, AuditLog audit)
    {
        _database = database;
        _audit = audit;
    }

    public async Task<AppointmentDetail?> FindAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await SchedulingReader.AppointmentAsync(connection, null, appointmentId).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var view = AppointmentView.From(row);
        var patientName = await connection.QuerySingleOrDefaultAsync<string>("SELECT name FROM patients WHERE id = @PatientId", new { row.PatientId }).ConfigureAwait(false);
        var clinic = await SchedulingReader.ClinicAsync(connection, null, row.ClinicId).ConfigureAwait(false);
        var names = await StaffNamesAsync(connection, row.TherapistIds).ConfigureAwait(false);
        return new AppointmentDetail(
            view.Id, view.PatientId, patientName ?? "", view.SeriesId, view.SeriesIndex, view.Start, view.End, view.OpensAt, view.Teletherapy, view.Status, view.TherapistIds,
            row.TherapistIds.Select(id => new TherapistOption(id, names.GetValueOrDefault(id, ""))).ToList(), clinic?.TimeZone ?? "UTC");
    }

    /// <summary>The appointment's emails, oldest first (the portal sign-in emails are not about an appointment).</summary>
    public async Task<IReadOnlyList<AppointmentEmail>> EmailsAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<EmailRow>(
            """
            SELECT o.id, o.kind, o.recipient, o.created_at, o.sent_at, o.discarded_at,
                   (SELECT c.name FROM contacts c JOIN appointments a ON a.patient_id = c.patient_id
                    WHERE a.id = o.appointment_id AND c.email = o.recipient ORDER BY c.created_at LIMIT 1) AS recipient_name
            FROM outbox_messages o
            WHERE o.appointment_id = @appointmentId AND o.channel = 'email'
            ORDER BY o.created_at, o.id
            """,
            new { appointmentId }).ConfigureAwait(false);
        return rows.Select(r => new AppointmentEmail(
            r.Id, r.Kind, r.RecipientName, r.Recipient, r.CreatedAt, r.SentAt,
            r.SentAt is not null ? "sent" : r.DiscardedAt is not null ? "discarded" : "pending")).ToList();
    }

    /// <summary>The audit trail with the names of the staff members and contacts it mentions.</summary>
    public async Task<IReadOnlyList<NamedAuditEvent>> AuditAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        var events = await _audit.ListAsync(appointmentId, cancellationToken).ConfigureAwait(false);
        var ids = events.SelectMany(e => new[] { e.ActorId, e.SubjectId }).OfType<Guid>().Distinct().ToList();
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var names = await StaffNamesAsync(connection, ids).ConfigureAwait(false);
        foreach (var id in ids.Where(id => !names.ContainsKey(id)))
        {
            if (await connection.QuerySingleOrDefaultAsync<string>("SELECT name FROM contacts WHERE id = @id", new { id }).ConfigureAwait(false) is { } name)
            {
                names[id] = name;
            }
        }

        return events.Select(e => new NamedAuditEvent(
            e.Id, e.AppointmentId, e.At, e.Kind, e.ActorKind, e.ActorId, e.ActorId is { } a ? names.GetValueOrDefault(a) : null,
            e.SubjectId, e.SubjectId is { } s ? names.GetValueOrDefault(s) : null, e.Reason)).ToList();
    }

    private static async Task<Dictionary<Guid, string>> StaffNamesAsync(System.Data.Common.DbConnection connection, IEnumerable<Guid> ids)
    {
        var names = new Dictionary<Guid, string>();
        foreach (var id in ids.Distinct())
        {
            if (await connection.QuerySingleOrDefaultAsync<string>("SELECT name FROM staff WHERE id = @id", new { id }).ConfigureAwait(false) is { } name)
            {
                names[id] = name;
            }
        }

        return names;
    }

    private sealed class EmailRow
    {
        public Guid Id { get; set; }

        public string Kind { get; set; } = "";

        public string Recipient { get; set; } = "";

        public string? RecipientName { get; set; }

        public DateTimeOffset CreatedAt { get; set; }

        public DateTimeOffset? SentAt { get; set; }

        public DateTimeOffset? DiscardedAt { get; set; }
    }
}
