using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Demo;

/// <summary>What <c>demo.json</c> holds (URLs absolute). The passwords are this installation's own, made at random.</summary>
public sealed record DemoInfo(
    string TherapistEmail,
    string TherapistPassword,
    string CalendarUrl,
    string PatientJoinUrl,
    Guid AppointmentId,
    string PatientName,
    string AdminEmail,
    string AdminPassword,
    string SchedulerEmail,
    string SchedulerPassword);

/// <summary>
/// Makes sure the demo exists: a clinic, one account of each role (admin, scheduler, therapist), a patient with two contacts (the primary contact and a
/// caregiver with email reminders on) and a teletherapy appointment that can be joined now. "Joinable now" means the
/// room is open: the start is at most 10 minutes away, or the appointment has started and not ended. Otherwise a new
/// appointment starting in 5 minutes is created, whose scheduled-appointment emails go through the outbox as usual.
/// The accounts' passwords are random per installation and kept in <c>demo.json</c>; when that file is lost (or still
/// holds a password of the old published kind) the accounts get new ones. The demo is never added to an installation
/// with real data: any other staff account or patient makes <see cref="EnsureAsync"/> leave everything as it is.
/// </summary>
public sealed class DemoSeeder
{
    public const string TherapistEmail = "therapist@demo.clinic";
    public const string AdminEmail = "admin@demo.clinic";
    public const string SchedulerEmail = "scheduler@demo.clinic";
    public const string PatientName = "Sam Taylor";
    private const string PatientEmail = "sam.taylor@demo.clinic";
    private const string CaregiverEmail = "jordan.taylor@demo.clinic";

    /// <summary>Passwords earlier versions published; an installation still using one gets a new password.</summary>
    private static readonly string[] PublishedPasswords = ["demo-therapist", "demo-admin", "demo-scheduler"];

    private const string PasswordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    private readonly Database _database;
    private readonly ClinicSettings _clinics;
    private readonly StaffAccounts _staff;
    private readonly AddPatient _patients;
    private readonly CreateAppointment _create;
    private readonly JoinService _join;
    private readonly TimeProvider _time;
    private readonly IOptions<NotificationOptions> _options;

    internal DemoSeeder(Database database, ClinicSettings clinics, StaffAccounts staff, AddPatient patients, CreateAppointment create, JoinService join, TimeProvider time, IOptions<NotificationOptions> options)
    {
        _database = database;
        _clinics = clinics;
        _staff = staff;
        _patients = patients;
        _create = create;
        _join = join;
        _time = time;
        _options = options;
    }

    /// <param name="previous">The last <c>demo.json</c>, if any: its passwords are kept, and its link reused while its appointment is still joinable.</param>
    /// <returns>The demo, or null when the installation has real data (nothing was added or changed).</returns>
    public async Task<DemoInfo?> EnsureAsync(DemoInfo? previous, CancellationToken cancellationToken = default)
    {
        if (await HasRealDataAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var baseUrl = _options.Value.PublicBaseUrl.TrimEnd('/');
        _ = await _clinics.GetDefaultAsync(cancellationToken).ConfigureAwait(false)
            ?? (await _clinics.SaveDefaultAsync(new SaveClinicRequest("Demo Clinic", "Europe/Berlin", RemindersEnabled: true), cancellationToken).ConfigureAwait(false)).Unwrap();

        var (therapist, therapistPassword) = await EnsureStaffAsync("Dr. Robin Demo", TherapistEmail, StaffRoles.Therapist, previous?.TherapistPassword, cancellationToken).ConfigureAwait(false);
        var (_, adminPassword) = await EnsureStaffAsync("Alex Admin", AdminEmail, StaffRoles.Admin, previous?.AdminPassword, cancellationToken).ConfigureAwait(false);
        var (_, schedulerPassword) = await EnsureStaffAsync("Casey Front Desk", SchedulerEmail, StaffRoles.Scheduler, previous?.SchedulerPassword, cancellationToken).ConfigureAwait(false);
        DemoInfo Info(string joinUrl, Guid appointmentId) => new(
            TherapistEmail, therapistPassword, $"{baseUrl}/schedule/calendar", joinUrl, appointmentId, PatientName,
            AdminEmail, adminPassword, SchedulerEmail, schedulerPassword);

        var patientId = await FindPatientAsync(cancellationToken).ConfigureAwait(false)
            ?? (await _patients.HandleAsync(
                new AddPatientRequest(
                    PatientName,
                    [
                        new ContactInput(PatientName, PatientEmail, null, IsPrimary: true, EmailReminders: false, SmsReminders: false, ContactRoles.Patient),
                        new ContactInput("Jordan Taylor", CaregiverEmail, "+49 30 1234567", IsPrimary: false, EmailReminders: true, SmsReminders: true, ContactRoles.Caregiver),
                    ]),
                cancellationToken).ConfigureAwait(false)).Unwrap().Id;

        if (previous is not null && previous.PatientJoinUrl.LastIndexOf("/join/", StringComparison.Ordinal) is var at and >= 0)
        {
            var token = previous.PatientJoinUrl[(at + "/join/".Length)..];
            var check = await _join.ResolveJoinTokenAsync(token, cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            if (check.Decision.Allowed && check.Appointment is { } existing && existing.Id == previous.AppointmentId
                && existing.PatientId == patientId && now >= existing.OpensAt && now < existing.End)
            {
                return Info($"{baseUrl}/join/{token}", existing.Id);
            }
        }

        var start = _time.GetUtcNow().AddMinutes(5);
        start = new DateTimeOffset(start.Year, start.Month, start.Day, start.Hour, start.Minute, 0, TimeSpan.Zero);
        var created = (await _create.HandleWithTokensAsync(
            new CreateAppointmentRequest(patientId, [therapist.Id], start, 50, Teletherapy: true), cancellationToken).ConfigureAwait(false)).Unwrap();
        var primaryToken = await PrimaryContactTokenAsync(patientId, created.Tokens, cancellationToken).ConfigureAwait(false);
        return Info($"{baseUrl}/join/{primaryToken}", created.Created.Id);
    }

    /// <summary>A new random password: 16 characters from 56 unambiguous ones (about 93 bits).</summary>
    internal static string NewPassword() => RandomNumberGenerator.GetString(PasswordAlphabet, 16);

    /// <summary>Any staff account or patient that is not the demo's means a clinic works here.</summary>
    private async Task<bool> HasRealDataAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var otherStaff = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM staff WHERE email NOT IN (@TherapistEmail, @AdminEmail, @SchedulerEmail)",
            new { TherapistEmail, AdminEmail, SchedulerEmail }).ConfigureAwait(false);
        var otherPatients = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM patients WHERE id NOT IN (SELECT patient_id FROM contacts WHERE email IN (@PatientEmail, @CaregiverEmail))",
            new { PatientEmail, CaregiverEmail }).ConfigureAwait(false);
        return otherStaff > 0 || otherPatients > 0;
    }

    /// <summary>The demo account and its password: the known one while it still signs in, else a new one.</summary>
    private async Task<(StaffIdentity Staff, string Password)> EnsureStaffAsync(string name, string email, string role, string? known, CancellationToken cancellationToken)
    {
        var usable = known is { Length: >= StaffAccounts.MinimumPasswordLength } && !PublishedPasswords.Contains(known) ? known : null;
        var existing = await _staff.FindByEmailAsync(email, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            var password = usable ?? NewPassword();
            return ((await _staff.AddAsync(new AddStaffRequest(name, email, password, role), cancellationToken).ConfigureAwait(false)).Unwrap(), password);
        }

        if (usable is not null && await _staff.VerifyPasswordAsync(email, usable, cancellationToken).ConfigureAwait(false) is not null)
        {
            return (existing, usable);
        }

        var fresh = NewPassword();
        (await _staff.SetPasswordAsync(existing.Id, fresh, cancellationToken).ConfigureAwait(false)).Unwrap();
        return (existing, fresh);
    }

    private async Task<Guid?> FindPatientAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.QueryFirstOrDefaultAsync<Guid?>(
            "SELECT patient_id FROM contacts WHERE email = @email ORDER BY created_at LIMIT 1", new { email = CaregiverEmail }).ConfigureAwait(false);
    }

    private async Task<string> PrimaryContactTokenAsync(Guid patientId, Dictionary<Guid, string> tokens, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var contacts = await SchedulingReader.ContactsAsync(connection, null, patientId).ConfigureAwait(false);
        var primary = contacts.First(c => c.IsPrimary);
        return tokens[primary.Id];
    }
}
