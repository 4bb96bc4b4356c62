using Teletherapy.Scheduling.Access;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Calendar;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Auth;

/// <summary>
/// The rights table (<see cref="AccessPolicy"/>) applied to the REST API's resources in one place each: an endpoint
/// filter per appointment route and per patient route. The filter loads the resource named by the route's <c>{id}</c>
/// (404 when there is none), asks the policy, and refuses with 403 and the policy's reason; a refused read of patient
/// data is written to the access log. The loaded resource is handed on in <see cref="HttpContext.Items"/>.
/// </summary>
internal static class ResourceAccess
{
    /// <summary>Only callers the rights table allows <paramref name="action"/> on the appointment <c>{id}</c>.</summary>
    public static TBuilder RequireAppointment<TBuilder>(this TBuilder builder, AppointmentAction action)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (!TryRouteId(http, out var id) || http.User.Caller() is not { } caller)
            {
                return ApiProblems.NotFoundProblem("No such appointment.");
            }

            var appointment = await http.RequestServices.GetRequiredService<GetCalendar>().FindAsync(id, http.RequestAborted);
            if (appointment is null)
            {
                return ApiProblems.NotFoundProblem("No such appointment.");
            }

            var reason = AccessPolicy.ForAppointment(caller, action, appointment.TherapistIds);
            if (reason is not null)
            {
                return await RefuseAsync(http, caller, AccessResources.Appointment, id, action.ToString(), reason, audit: action is not AppointmentAction.Join);
            }

            http.Items[typeof(AppointmentView)] = appointment;
            if (action is AppointmentAction.Read or AppointmentAction.ReadAudit)
            {
                // An appointment's details, emails and audit are patient data: the read goes to the security trail.
                await http.RequestServices.GetRequiredService<SecurityAudit>().RecordAsync(
                    SecurityEvent.PatientRead(AuditActor.From(caller), appointment.PatientId, action == AppointmentAction.Read ? "appointment" : "appointment-audit", appointment.Id),
                    http.RequestAborted);
            }

            return await next(context);
        });

    /// <summary>Only callers the rights table allows <paramref name="action"/> on the patient <c>{id}</c>.</summary>
    public static TBuilder RequirePatient<TBuilder>(this TBuilder builder, PatientAction action)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (!TryRouteId(http, out var id) || http.User.Caller() is not { } caller)
            {
                return ApiProblems.NotFoundProblem("No such patient.");
            }

            var patients = http.RequestServices.GetRequiredService<PatientDirectory>();
            var patient = await patients.FindAsync(id, http.RequestAborted);
            if (patient is null)
            {
                return ApiProblems.NotFoundProblem("No such patient.");
            }

            var isTheirs = caller.StaffId is { } staffId && await patients.IsTherapistOfAsync(id, staffId, http.RequestAborted);
            var reason = AccessPolicy.ForPatient(caller, action, isTheirs);
            if (reason is not null)
            {
                return await RefuseAsync(http, caller, AccessResources.Patient, id, action.ToString(), reason, audit: true);
            }

            http.Items[typeof(Patient)] = patient;
            if (action == PatientAction.Read)
            {
                await http.RequestServices.GetRequiredService<SecurityAudit>().RecordAsync(SecurityEvent.PatientRead(AuditActor.From(caller), id), http.RequestAborted);
            }

            return await next(context);
        });

    /// <summary>
    /// Booking: the rights table for the appointment the request would create (a therapist must list themselves), and a
    /// therapist books only for their own patients. Null when allowed, else the refusal.
    /// </summary>
    public static async Task<IResult?> CheckBookingAsync(HttpContext http, CreateAppointmentRequest request)
    {
        if (http.User.Caller() is not { } caller)
        {
            return ApiProblems.Problem(StatusCodes.Status401Unauthorized, ApiProblems.Unauthorized, "Sign in first.");
        }

        var reason = AccessPolicy.ForAppointment(caller, AppointmentAction.Book, request.TherapistIds ?? []);
        if (reason is null && request.PatientId is { } patientId && AccessPolicy.VisibleTherapist(caller) is { } therapistId)
        {
            var patients = http.RequestServices.GetRequiredService<PatientDirectory>();
            reason = await patients.IsTherapistOfAsync(patientId, therapistId, http.RequestAborted) || await patients.FindAsync(patientId, http.RequestAborted) is null
                ? null
                : AccessReasons.NotListed;
        }

        return reason is null ? null : await RefuseAsync(http, caller, AccessResources.Appointment, null, AppointmentAction.Book.ToString(), reason, audit: true);
    }

    /// <summary>The resource a filter loaded for this request.</summary>
    public static T Loaded<T>(this HttpContext http)
        where T : class => (T)http.Items[typeof(T)]!;

    private static bool TryRouteId(HttpContext http, out Guid id)
    {
        id = Guid.Empty;
        return http.Request.RouteValues.TryGetValue("id", out var value) && Guid.TryParse(value?.ToString(), out id);
    }

    private static async Task<IResult> RefuseAsync(HttpContext http, Caller caller, string resource, Guid? id, string action, string reason, bool audit)
    {
        if (audit)
        {
            await http.RequestServices.GetRequiredService<AccessLog>().RecordAsync(caller, resource, id, ToKebab(action), reason, http.RequestAborted);
        }

        var title = (reason, resource) switch
        {
            (AccessReasons.NotListed, AccessResources.Patient) => "You are not listed on any appointment of this patient.",
            (AccessReasons.NotListed, _) => "You are not a therapist listed on this appointment.",
            _ => "Your role does not have this right.",
        };
        return ApiProblems.Problem(StatusCodes.Status403Forbidden, reason, title);
    }

    private static string ToKebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
