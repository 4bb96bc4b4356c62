using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Access;

/// <summary>
/// Who is asking: a staff member with a role, or an integrator's API key (which acts as a clinic admin for the REST API).
/// </summary>
public sealed record Caller(string Role, Guid? StaffId)
{
    public static Caller Integrator { get; } = new(StaffRoles.Admin, null);

    public static Caller Staff(Guid staffId, string role) => new(role, staffId);

    public bool IsIntegrator => StaffId is null;
}

/// <summary>What a caller wants to do with an appointment.</summary>
public enum AppointmentAction
{
    /// <summary>See it (details, its emails) and its place in the calendar.</summary>
    Read,

    /// <summary>Book it (the therapists it will list are given).</summary>
    Book,

    /// <summary>Move or cancel it.</summary>
    Change,

    /// <summary>Read its audit trail.</summary>
    ReadAudit,

    /// <summary>Read its face-to-face minutes.</summary>
    ReadMinutes,

    /// <summary>Join its session (and so admit, deny, end).</summary>
    Join,
}

/// <summary>What a caller wants to do with a patient.</summary>
public enum PatientAction
{
    Read,
    Write,
}

/// <summary>Why access is refused; the <c>reason</c> of a 403 problem.</summary>
public static class AccessReasons
{
    /// <summary>The caller's role never has this right.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>A therapist asked about an appointment (or patient) they are not listed on.</summary>
    public const string NotListed = "not-listed";
}

/// <summary>
/// The rights table of README: Roles and the practice pages as pure functions: each answers null when allowed, else the refusal's reason.
/// Admins (and integrators) may do everything except join a session they are not listed on; schedulers run patients
/// and every appointment, see minutes but not audit trails, and never join; therapists act only on appointments they
/// are listed on, and on those patients, which they may read but not edit.
/// </summary>
public static class AccessPolicy
{
    /// <param name="listed">The appointment's therapists (for <see cref="AppointmentAction.Book"/>: those it will list).</param>
    public static string? ForAppointment(Caller caller, AppointmentAction action, IReadOnlyCollection<Guid> listed)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(listed);
        var isListed = caller.StaffId is { } id && listed.Contains(id);
        return (caller.Role, action) switch
        {
            // A session is joined by a listed person in a browser, never with an API key (R1).
            (_, AppointmentAction.Join) when caller.IsIntegrator => AccessReasons.Forbidden,
            (StaffRoles.Scheduler, AppointmentAction.Join or AppointmentAction.ReadAudit) => AccessReasons.Forbidden,
            (StaffRoles.Admin, AppointmentAction.Join) => isListed ? null : AccessReasons.NotListed,
            (StaffRoles.Admin or StaffRoles.Scheduler, _) => null,
            (StaffRoles.Therapist, _) => isListed ? null : AccessReasons.NotListed,
            _ => AccessReasons.Forbidden,
        };
    }

    /// <param name="isTherapistOfPatient">Whether the caller is listed on any of the patient's appointments.</param>
    public static string? ForPatient(Caller caller, PatientAction action, bool isTherapistOfPatient)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return (caller.Role, action) switch
        {
            (StaffRoles.Admin or StaffRoles.Scheduler, _) => null,
            (StaffRoles.Therapist, PatientAction.Read) => isTherapistOfPatient ? null : AccessReasons.NotListed,
            _ => AccessReasons.Forbidden,
        };
    }

    /// <summary>Whose appointments and patients a list shows: everyone's (null), or only the caller's own.</summary>
    public static Guid? VisibleTherapist(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.Role is StaffRoles.Admin or StaffRoles.Scheduler ? null : caller.StaffId ?? Guid.Empty;
    }

    /// <summary>Clinic settings and staff accounts: admins (and integrators) only.</summary>
    internal static string? ForAdministration(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.Role == StaffRoles.Admin ? null : AccessReasons.Forbidden;
    }
}
