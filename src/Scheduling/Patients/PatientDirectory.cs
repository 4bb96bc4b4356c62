using Dapper;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Patients;

/// <summary>
/// Use cases: find and list patients with their contacts. A therapist's view is limited to the patients of the
/// appointments they are listed on (README: Roles and the practice pages).
/// </summary>
public sealed class PatientDirectory
{
    /// <summary>Most patients one list returns.</summary>
    public const int MaxResults = 200;

    private const string TherapistFilter =
        "p.id IN (SELECT a.patient_id FROM appointments a JOIN appointment_therapists t ON t.appointment_id = a.id WHERE t.staff_id = @therapistId)";

    private readonly Database _database;

    internal PatientDirectory(Database database)
    {
        _database = database;
    }

    /// <summary>
    /// Patients by name whose name, or a contact's name or email, contains <paramref name="search"/> (any case); only
    /// those of <paramref name="therapistId"/>'s appointments when given.
    /// </summary>
    public async Task<IReadOnlyList<Patient>> SearchAsync(string? search, Guid? therapistId, CancellationToken cancellationToken = default)
    {
        var term = string.IsNullOrWhiteSpace(search) ? null : "%" + Escape(search.Trim().ToLowerInvariant()) + "%";
        var where = new List<string>();
        if (term is not null)
        {
            where.Add("""
                (LOWER(p.name) LIKE @term ESCAPE '\' OR p.id IN (SELECT c.patient_id FROM contacts c
                 WHERE c.removed_at IS NULL AND (LOWER(c.name) LIKE @term ESCAPE '\' OR c.email LIKE @term ESCAPE '\')))
                """);
        }

        if (therapistId is not null)
        {
            where.Add(TherapistFilter);
        }

        var sql = $"SELECT p.id, p.clinic_id, p.name FROM patients p{(where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where))} ORDER BY p.name, p.id LIMIT {MaxResults}";
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = (await connection.QueryAsync<PatientRow>(sql, new { term, therapistId }).ConfigureAwait(false)).ToList();
        if (rows.Count == 0)
        {
            return [];
        }

        var ids = rows.Select(r => r.Id).ToHashSet();
        var contacts = (await connection.QueryAsync<ContactRow>(
            $"SELECT {SchedulingReader.ContactColumns} FROM contacts c WHERE c.removed_at IS NULL AND c.patient_id IN (SELECT p.id FROM patients p{(where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where))}) ORDER BY c.created_at, c.id",
            new { term, therapistId }).ConfigureAwait(false)).Where(c => ids.Contains(c.PatientId)).ToLookup(c => c.PatientId);
        return rows.Select(r => new Patient(r.Id, r.ClinicId, r.Name, contacts[r.Id].Select(Contact.From).ToList())).ToList();
    }

    /// <summary>One patient with the current contacts, or null.</summary>
    public async Task<Patient?> FindAsync(Guid patientId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<PatientRow>(
            "SELECT id, clinic_id, name FROM patients WHERE id = @patientId", new { patientId }).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var contacts = await SchedulingReader.ContactsAsync(connection, null, patientId).ConfigureAwait(false);
        return new Patient(row.Id, row.ClinicId, row.Name, contacts.Select(Contact.From).ToList());
    }

    /// <summary>Whether the staff member is listed on any appointment of the patient.</summary>
    public async Task<bool> IsTherapistOfAsync(Guid patientId, Guid therapistId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long>(
            $"SELECT COUNT(*) FROM patients p WHERE p.id = @patientId AND {TherapistFilter}", new { patientId, therapistId }).ConfigureAwait(false) > 0;
    }

    private static string Escape(string term) => term.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private sealed class PatientRow
    {
        public Guid Id { get; set; }

        public Guid ClinicId { get; set; }

        public string Name { get; set; } = "";
    }
}
