using System.Data.Common;
using Dapper;

namespace Teletherapy.Scheduling.Data;

/// <summary>Reads shared by several use cases: a clinic, a patient's contacts, an appointment with its therapists.</summary>
internal static class SchedulingReader
{
    /// <summary>The columns of <see cref="ContactRow"/>.</summary>
    public const string ContactColumns = "id, patient_id, name, email, phone, role, relationship, is_primary, email_reminders, sms_reminders";

    private const string AppointmentColumns =
        "id, clinic_id, patient_id, series_id, series_index, start_at, end_at, teletherapy, status, revision";

    public static Task<ClinicRow?> ClinicAsync(DbConnection connection, DbTransaction? transaction, Guid clinicId) =>
        connection.QuerySingleOrDefaultAsync<ClinicRow>(
            "SELECT id, name, time_zone, reminders_enabled FROM clinics WHERE id = @clinicId", new { clinicId }, transaction);

    /// <summary>The validation message when there is no clinic yet.</summary>
    public const string MissingClinicMessage = "No clinic is set up yet (the first-run setup or PUT /api/v1/clinic first).";

    /// <summary>The installation's clinic (one per installation): the first one created.</summary>
    public static Task<ClinicRow?> DefaultClinicAsync(DbConnection connection, DbTransaction? transaction) =>
        connection.QueryFirstOrDefaultAsync<ClinicRow>(
            "SELECT id, name, time_zone, reminders_enabled FROM clinics ORDER BY created_at, id LIMIT 1", transaction: transaction);

    public static async Task<List<ContactRow>> ContactsAsync(DbConnection connection, DbTransaction? transaction, Guid patientId) =>
        (await connection.QueryAsync<ContactRow>(
            $"SELECT {ContactColumns} FROM contacts WHERE patient_id = @patientId AND removed_at IS NULL ORDER BY created_at, id",
            new { patientId }, transaction).ConfigureAwait(false)).ToList();

    public static async Task<AppointmentRow?> AppointmentAsync(DbConnection connection, DbTransaction? transaction, Guid appointmentId)
    {
        var row = await connection.QuerySingleOrDefaultAsync<AppointmentRow>(
            $"SELECT {AppointmentColumns} FROM appointments WHERE id = @appointmentId", new { appointmentId }, transaction).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        row.TherapistIds.AddRange(await connection.QueryAsync<Guid>(
            "SELECT staff_id FROM appointment_therapists WHERE appointment_id = @appointmentId ORDER BY staff_id", new { appointmentId }, transaction).ConfigureAwait(false));
        return row;
    }

    /// <summary>Appointments overlapping [from, to), optionally only those listing <paramref name="staffId"/>, with their therapists.</summary>
    public static async Task<List<AppointmentRow>> AppointmentsAsync(DbConnection connection, DateTimeOffset from, DateTimeOffset to, Guid? staffId)
    {
        var filter = staffId is null ? string.Empty : " AND a.id IN (SELECT appointment_id FROM appointment_therapists WHERE staff_id = @staffId)";
        var where = $"a.start_at < @to AND a.end_at > @from{filter}";
        var parameters = new { from, to, staffId };
        var rows = (await connection.QueryAsync<AppointmentRow>(
            $"SELECT a.id, a.clinic_id, a.patient_id, a.series_id, a.series_index, a.start_at, a.end_at, a.teletherapy, a.status, a.revision FROM appointments a WHERE {where} ORDER BY a.start_at, a.id",
            parameters).ConfigureAwait(false)).ToList();
        var byId = rows.ToDictionary(r => r.Id);
        var pairs = await connection.QueryAsync<TherapistPair>(
            $"SELECT t.appointment_id, t.staff_id FROM appointment_therapists t JOIN appointments a ON a.id = t.appointment_id WHERE {where} ORDER BY t.staff_id",
            parameters).ConfigureAwait(false);
        foreach (var pair in pairs)
        {
            if (byId.TryGetValue(pair.AppointmentId, out var row))
            {
                row.TherapistIds.Add(pair.StaffId);
            }
        }

        return rows;
    }

    private sealed class TherapistPair
    {
        public Guid AppointmentId { get; set; }

        public Guid StaffId { get; set; }
    }
}
