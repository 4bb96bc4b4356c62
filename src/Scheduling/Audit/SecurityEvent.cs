using Teletherapy.Scheduling.Access;

namespace Teletherapy.Scheduling.Audit;

/// <summary>Kinds of entries in the security audit trail (<see cref="SecurityAudit"/>).</summary>
internal static class SecurityEventKinds
{
    /// <summary>A staff member signed in (actor and subject: the account).</summary>
    public const string SignIn = "sign-in";

    /// <summary>
    /// A staff sign-in was refused (wrong password, unknown or deactivated account). Subject: the account when the
    /// email names one; otherwise only a keyed hash of the attempted email is kept.
    /// </summary>
    public const string SignInFailed = "sign-in-failed";

    /// <summary>Sign-in attempts for an account are refused for a while after too many failures.</summary>
    public const string SignInLocked = "sign-in-locked";

    /// <summary>A staff member signed out.</summary>
    public const string SignOut = "sign-out";

    /// <summary>A patient's data was read (subject: the patient; action: what was read, e.g. <c>patient</c>, <c>appointment</c>).</summary>
    public const string PatientRead = "patient-read";

    /// <summary>Patients were searched (no subject; the detail says how many were returned, never the search text).</summary>
    public const string PatientSearch = "patient-search";

    /// <summary>A patient or the patient's contacts were added or changed.</summary>
    public const string PatientChanged = "patient-changed";

    /// <summary>A staff account was added or changed (name, role, active, password).</summary>
    public const string StaffChanged = "staff-changed";

    /// <summary>The clinic's settings were created or changed.</summary>
    public const string ClinicChanged = "clinic-changed";

    /// <summary>A request was refused by the rights table (subject: the resource; reason: <c>forbidden</c>, <c>not-listed</c>).</summary>
    public const string AccessRefused = "access-refused";

    public static IReadOnlyList<string> All { get; } =
        [SignIn, SignInFailed, SignInLocked, SignOut, PatientRead, PatientSearch, PatientChanged, StaffChanged, ClinicChanged, AccessRefused];

    public static bool IsKnown(string? kind) => kind is not null && All.Contains(kind, StringComparer.Ordinal);
}

/// <summary>Kinds of things a security event is about.</summary>
internal static class SecuritySubjects
{
    public const string Staff = "staff";
    public const string Patient = "patient";
    public const string Clinic = "clinic";
    public const string Appointment = "appointment";
}

/// <summary>What a change did, in <see cref="SecurityEvent.Action"/>.</summary>
internal static class SecurityActions
{
    public const string Created = "created";
    public const string Updated = "updated";
    public const string Deactivated = "deactivated";
    public const string Reactivated = "reactivated";
    public const string PasswordChanged = "password-changed";
}

/// <summary>
/// One entry for the security audit trail: who (<see cref="Actor"/>), what kind, about which thing (kind and id).
/// Ids only: no names, emails, phone numbers, notes or search texts. A failed sign-in's <see cref="AttemptedEmail"/> is
/// never stored: it becomes the account's id when it names one, else a keyed hash (see <see cref="SecurityAudit"/>).
/// </summary>
public sealed record SecurityEvent
{
    /// <summary>Longest <see cref="Action"/>, <see cref="Reason"/> or <see cref="Detail"/> kept (longer ones are cut).</summary>
    public const int MaxTextLength = 200;

    public SecurityEvent(string kind, AuditActor actor)
    {
        if (!SecurityEventKinds.IsKnown(kind))
        {
            throw new ArgumentException($"Unknown security event kind '{kind}'.", nameof(kind));
        }

        ArgumentNullException.ThrowIfNull(actor);
        Kind = kind;
        Actor = actor;
    }

    public string Kind { get; }

    public AuditActor Actor { get; }

    public string? SubjectKind { get; init; }

    public Guid? SubjectId { get; init; }

    /// <summary>What was done or read (e.g. <c>created</c>, <c>read</c>, <c>appointment</c>).</summary>
    public string? Action { get; init; }

    /// <summary>Why it was refused or failed (e.g. <c>not-listed</c>, <c>invalid-credentials</c>).</summary>
    public string? Reason { get; init; }

    /// <summary>Machine-readable detail without personal data (e.g. <c>changed=name,role role=admin</c>, <c>results=3</c>).</summary>
    public string? Detail { get; init; }

    /// <summary>Sign-in events only: the email the attempt named. Not stored as given (see the type's remarks).</summary>
    public string? AttemptedEmail { get; init; }

    public static SecurityEvent SignedIn(Guid staffId) =>
        new(SecurityEventKinds.SignIn, AuditActor.Staff(staffId)) { SubjectKind = SecuritySubjects.Staff, SubjectId = staffId };

    public static SecurityEvent SignedOut(Guid staffId) =>
        new(SecurityEventKinds.SignOut, AuditActor.Staff(staffId)) { SubjectKind = SecuritySubjects.Staff, SubjectId = staffId };

    /// <summary>A refused sign-in; <paramref name="reason"/> e.g. <c>invalid-credentials</c>.</summary>
    public static SecurityEvent SignInFailed(string? attemptedEmail, string reason = "invalid-credentials") =>
        new(SecurityEventKinds.SignInFailed, AuditActor.Anonymous) { SubjectKind = SecuritySubjects.Staff, AttemptedEmail = attemptedEmail, Reason = reason };

    /// <summary>Sign-ins for this email are refused until <paramref name="until"/> (recorded once when the lock begins).</summary>
    public static SecurityEvent SignInLocked(string? attemptedEmail, DateTimeOffset until) =>
        new(SecurityEventKinds.SignInLocked, AuditActor.Anonymous)
        {
            SubjectKind = SecuritySubjects.Staff,
            AttemptedEmail = attemptedEmail,
            Reason = "too-many-failures",
            Detail = $"until={until.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}",
        };

    /// <summary>
    /// A read of one patient's data; <paramref name="what"/> names what was read (<c>patient</c>, <c>appointment</c>,
    /// <c>emails</c>, <c>audit</c>…), <paramref name="appointmentId"/> the appointment it was read through, if any.
    /// </summary>
    public static SecurityEvent PatientRead(AuditActor by, Guid patientId, string what = "patient", Guid? appointmentId = null) =>
        new(SecurityEventKinds.PatientRead, by)
        {
            SubjectKind = SecuritySubjects.Patient,
            SubjectId = patientId,
            Action = what,
            Detail = appointmentId is { } id ? $"appointment={id:D}" : null,
        };

    /// <summary>A patient search that returned <paramref name="results"/> patients (the search text is not kept).</summary>
    public static SecurityEvent PatientsSearched(AuditActor by, int results) =>
        new(SecurityEventKinds.PatientSearch, by) { SubjectKind = SecuritySubjects.Patient, Action = "search", Detail = $"results={results}" };

    public static SecurityEvent PatientChanged(AuditActor by, Guid patientId, string action, string? detail = null) =>
        new(SecurityEventKinds.PatientChanged, by) { SubjectKind = SecuritySubjects.Patient, SubjectId = patientId, Action = action, Detail = detail };

    public static SecurityEvent StaffChanged(AuditActor by, Guid staffId, string action, string? detail = null) =>
        new(SecurityEventKinds.StaffChanged, by) { SubjectKind = SecuritySubjects.Staff, SubjectId = staffId, Action = action, Detail = detail };

    public static SecurityEvent ClinicChanged(AuditActor by, Guid clinicId, string action, string? detail = null) =>
        new(SecurityEventKinds.ClinicChanged, by) { SubjectKind = SecuritySubjects.Clinic, SubjectId = clinicId, Action = action, Detail = detail };

    /// <summary>A refusal by the rights table (also written to the access log by <see cref="AccessLog"/>).</summary>
    public static SecurityEvent AccessRefused(AuditActor by, string resourceKind, Guid? resourceId, string action, string reason) =>
        new(SecurityEventKinds.AccessRefused, by) { SubjectKind = resourceKind, SubjectId = resourceId, Action = action, Reason = reason };
}
