using Dapper;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Demo;

/// <summary>What <c>demo.json</c> holds (URLs absolute).</summary>
public sealed record DemoInfo(
    string TherapistEmail,
    string TherapistPassword,
    string CalendarUrl,
    string PatientJoinUrl,
    Guid AppointmentId,
    string PatientName,
    string AdminEmail = DemoSeeder.AdminEmail,
    string AdminPassword = DemoSeeder.AdminPassword,
    string SchedulerEmail = DemoSeeder.SchedulerEmail,
    string SchedulerPassword = DemoSeeder.SchedulerPassword);

/// <summary>
/// Makes sure the demo exists: a clinic, one account of each role (admin, scheduler, therapist), a patient with two contacts (the primary contact and a
/// caregiver with email reminders on) and a teletherapy appointment that can be joined now. "Joinable now" means the
/// room is open: the start is at most 10 minutes away, or the appointment has started and not ended. Otherwise a new
/// appointment starting in 5 minutes is created, whose scheduled-appointment emails go through the outbox as usual.
/// </summary>
public sealed class DemoSeeder
{
    public const string TherapistEmail = "therapist@demo.clinic";
    public const string TherapistPassword = "demo-therapist";
    public const string AdminEmail = "admin@demo.clinic";
    public const string AdminPassword = "demo-admin";
    public const string SchedulerEmail = "scheduler@demo.clinic";
    public const string SchedulerPassword = "demo-scheduler";
    public const string PatientName = "Sam Taylor";
    private const string PatientEmail = "sam.taylor@demo.clinic";
    private const string CaregiverEmail = "jordan.taylor@demo.clinic";

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

    /// <param name="previous">The last <c>demo.json</c>, if any: its link is reused while its appointment is still joinable.</param>
    public async Task<DemoInfo> EnsureAsync(DemoInfo? previous, CancellationToken cancellationToken = default)
    {
        var baseUrl = _options.Value.PublicBaseUrl.TrimEnd('/');
        _ = await _clinics.GetDefaultAsync(cancellationToken).ConfigureAwait(false)
            ?? (await _clinics.SaveDefaultAsync(new SaveClinicRequest("Demo Clinic", "Europe/Berlin", RemindersEnabled: true), cancellationToken).ConfigureAwait(false)).Unwrap();

        var therapist = await EnsureStaffAsync(new AddStaffRequest("Dr. Robin Demo", TherapistEmail, TherapistPassword, StaffRoles.Therapist), cancellationToken).ConfigureAwait(false);
        await EnsureStaffAsync(new AddStaffRequest("Alex Admin", AdminEmail, AdminPassword, StaffRoles.Admin), cancellationToken).ConfigureAwait(false);
        await EnsureStaffAsync(new AddStaffRequest("Casey Front Desk", SchedulerEmail, SchedulerPassword, StaffRoles.Scheduler), cancellationToken).ConfigureAwait(false);

        var patientId = await FindPatientAsync(cancellationToken).ConfigureAwait(false)
            ?? (await _patients.HandleAsync(
                new AddPatientRequest(
                    PatientName,
                    [
                        new ContactInput(PatientName, PatientEmail, null, IsPrimary: true, EmailReminders: false, SmsReminders: false, ContactRoles.Patient),
                        new ContactInput("Jordan Taylor", CaregiverEmail, "+49 30 1234567", IsPrimary: false, EmailReminders: true, SmsReminders: true, ContactRoles.Caregiver),
                    ]),
                cancellationToken).ConfigureAwait(false)).Unwrap().Id;

        var calendarUrl = $"{baseUrl}/schedule/calendar";
        if (previous is not null && previous.PatientJoinUrl.LastIndexOf("/join/", StringComparison.Ordinal) is var at and >= 0)
        {
            var token = previous.PatientJoinUrl[(at + "/join/".Length)..];
            var check = await _join.ResolveJoinTokenAsync(token, cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            if (check.Decision.Allowed && check.Appointment is { } existing && existing.Id == previous.AppointmentId
                && existing.PatientId == patientId && now >= existing.OpensAt && now < existing.End)
            {
                return new DemoInfo(TherapistEmail, TherapistPassword, calendarUrl, $"{baseUrl}/join/{token}", existing.Id, PatientName);
            }
        }

        var start = _time.GetUtcNow().AddMinutes(5);
        start = new DateTimeOffset(start.Year, start.Month, start.Day, start.Hour, start.Minute, 0, TimeSpan.Zero);
        var created = (await _create.HandleWithTokensAsync(
            new CreateAppointmentRequest(patientId, [therapist.Id], start, 50, Teletherapy: true), cancellationToken).ConfigureAwait(false)).Unwrap();
        var primaryToken = await PrimaryContactTokenAsync(patientId, created.Tokens, cancellationToken).ConfigureAwait(false);
        return new DemoInfo(TherapistEmail, TherapistPassword, calendarUrl, $"{baseUrl}/join/{primaryToken}", created.Created.Id, PatientName);
    }

    private async Task<StaffIdentity> EnsureStaffAsync(AddStaffRequest account, CancellationToken cancellationToken) =>
        await _staff.FindByEmailAsync(account.Email!, cancellationToken).ConfigureAwait(false)
        ?? (await _staff.AddAsync(account, cancellationToken).ConfigureAwait(false)).Unwrap();

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
