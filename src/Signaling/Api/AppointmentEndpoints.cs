using Teletherapy.Scheduling.Access;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Calendar;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Api;

/// <summary>A calendar entry: the appointment, the patient's name and, for a signed-in therapist, whether the Join Session button works now.</summary>
internal sealed record CalendarItem(
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
    bool? CanJoin,
    string? JoinRefusedReason);

internal sealed record JoinResponse(string SessionUrl);

/// <summary>Appointments: create, calendar, details, reschedule, cancel, join, emails, audit, minutes; each guarded by the rights table.</summary>
internal static class AppointmentEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var group = api.MapGroup("/appointments").WithTags("Appointments").RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy);

        group.MapPost("", async (CreateAppointmentRequest body, HttpContext context, CreateAppointment create, CancellationToken ct) =>
            await ResourceAccess.CheckBookingAsync(context, body) is { } refused
                ? refused
                : ApiProblems.From(await create.HandleAsync(body, ct), c => Results.Created($"/api/v1/appointments/{c.Id}", c)))
            .WithName("CreateAppointment")
            .WithSummary("Creates an appointment or a series (repeat) and sends the scheduled-appointment email (R6, R7). A therapist books only appointments listing themselves, for their own patients.")
            .Produces<AppointmentCreated>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden);

        group.MapGet("", async (DateTimeOffset? from, DateTimeOffset? to, Guid? therapistId, HttpContext context, GetCalendar calendar, CancellationToken ct) =>
        {
            var caller = context.User.Caller()!;
            var viewer = caller.StaffId is { } staffId ? new CalendarViewer(staffId, StaffRoles.CanBeListed(caller.Role)) : null;
            var filter = AccessPolicy.VisibleTherapist(caller) ?? therapistId;
            return ApiProblems.From(await calendar.HandleAsync(from, to, filter, viewer, ct), entries => Results.Ok(entries.Select(e => new CalendarItem(
                e.Appointment.Id, e.Appointment.PatientId, e.PatientName, e.Appointment.SeriesId, e.Appointment.SeriesIndex, e.Appointment.Start, e.Appointment.End,
                e.Appointment.OpensAt, e.Appointment.Teletherapy, e.Appointment.Status, e.Appointment.TherapistIds, e.Join?.Allowed, e.Join?.Reason)).ToList()));
        })
            .WithName("GetCalendar")
            .WithSummary("The calendar between from and to: a therapist's own appointments; everyone's (or therapistId's) for admins, schedulers and API keys.")
            .Produces<List<CalendarItem>>();

        group.MapGet("/{id:guid}", async (Guid id, AppointmentDetails details, CancellationToken ct) =>
            await details.FindAsync(id, ct) is { } found ? Results.Ok(found) : ApiProblems.NotFoundProblem("No such appointment."))
            .RequireAppointment(AppointmentAction.Read)
            .WithName("GetAppointment").WithSummary("One appointment with the patient's and therapists' names and the clinic's time zone.")
            .Produces<AppointmentDetail>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPut("/{id:guid}", async (Guid id, RescheduleAppointmentRequest body, HttpContext context, RescheduleAppointment reschedule, CancellationToken ct) =>
            ApiProblems.From(await reschedule.HandleAsync(id, body, Changer(context), ct), Results.Ok))
            .RequireAppointment(AppointmentAction.Change)
            .WithName("RescheduleAppointment")
            .WithSummary("Moves an appointment: old join links are revoked (contacts in its session are sent away) and a new email with new links is sent.")
            .Produces<AppointmentView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/{id:guid}/cancel", async (Guid id, HttpContext context, CancelAppointment cancel, CancellationToken ct) =>
            ApiProblems.From(await cancel.HandleAsync(id, Changer(context), ct), Results.Ok))
            .RequireAppointment(AppointmentAction.Change)
            .WithName("CancelAppointment")
            .WithSummary("Cancels an appointment; its join links stop working, its contacts are emailed, and anyone already in its session is told and sent away.")
            .Produces<AppointmentView>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/{id:guid}/join", async (Guid id, HttpContext context, JoinService join, CancellationToken ct) =>
        {
            var staffId = context.User.StaffId()!.Value;
            var check = await join.CheckTherapistJoinAsync(id, staffId, ct);
            if (check.Decision.Allowed)
            {
                return Results.Ok(new JoinResponse($"/session/{id:D}"));
            }

            return JoinProblems.ForTherapist(check.Decision.Reason!, check.Appointment);
        })
            .RequireAuthorization(AuthSetup.StaffPolicy)
            .WithName("JoinSession")
            .WithSummary("Join Session as a listed therapist (R1), from 10 minutes before the start (R2). Schedulers never join (403 forbidden).")
            .Produces<JoinResponse>()
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id:guid}/emails", async (Guid id, AppointmentDetails details, CancellationToken ct) => Results.Ok(await details.EmailsAsync(id, ct)))
            .RequireAppointment(AppointmentAction.Read)
            .WithName("GetAppointmentEmails").WithSummary("The emails about the appointment: kind (scheduled, rescheduled, reminder, cancelled), recipient, pending/sent/discarded.")
            .Produces<IReadOnlyList<AppointmentEmail>>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id:guid}/audit", async (Guid id, AppointmentDetails details, CancellationToken ct) => Results.Ok(await details.AuditAsync(id, ct)))
            .RequireAppointment(AppointmentAction.ReadAudit)
            .WithName("GetAudit").WithSummary("The appointment's audit events in order, with the names of the people they mention.")
            .Produces<IReadOnlyList<NamedAuditEvent>>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id:guid}/minutes", async (Guid id, AuditLog audit, CancellationToken ct) => Results.Ok(await audit.FaceToFaceAsync(id, ct)))
            .RequireAppointment(AppointmentAction.ReadMinutes)
            .WithName("GetMinutes").WithSummary("Face-to-face minutes: time with a therapist and an admitted contact both present.")
            .Produces<FaceToFaceTime>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>Who changes an appointment, for the audit log: the signed-in staff member, else the integrator's API key.</summary>
    private static AuditActor Changer(HttpContext context) =>
        context.User.StaffId() is { } staffId ? AuditActor.Staff(staffId) : AuditActor.Integrator;
}

/// <summary>Status codes of refused joins.</summary>
internal static class JoinProblems
{
    public static IResult ForTherapist(string reason, SessionAppointment? appointment)
    {
        var extra = appointment is null ? null : new Dictionary<string, object?> { ["opensAt"] = appointment.OpensAt, ["closesAt"] = appointment.ClosesAt };
        return reason switch
        {
            JoinReasons.NotFound => ApiProblems.NotFoundProblem("No such appointment."),
            JoinReasons.NotListed => ApiProblems.Problem(StatusCodes.Status403Forbidden, reason, "You are not a therapist listed on this appointment.", extra: extra),
            JoinReasons.Forbidden => ApiProblems.Problem(StatusCodes.Status403Forbidden, reason, "Your role does not join sessions.", extra: extra),
            JoinReasons.TooEarly => ApiProblems.Problem(StatusCodes.Status409Conflict, reason, "The session opens 10 minutes before the start.", $"It opens at {appointment?.OpensAt:O}.", extra),
            JoinReasons.Ended => ApiProblems.Problem(StatusCodes.Status409Conflict, reason, "The session has ended.", extra: extra),
            JoinReasons.Cancelled => ApiProblems.Problem(StatusCodes.Status409Conflict, reason, "The appointment was cancelled.", extra: extra),
            _ => ApiProblems.Problem(StatusCodes.Status409Conflict, reason, "This appointment has no teletherapy session.", extra: extra),
        };
    }

    public static IResult ForLink(string reason) => reason switch
    {
        JoinReasons.LinkExpired => ApiProblems.Problem(StatusCodes.Status410Gone, reason, "This link has expired."),
        JoinReasons.LinkRevoked => ApiProblems.Problem(StatusCodes.Status410Gone, reason, "This link no longer works: the appointment was rescheduled. Use the link in the newest email."),
        JoinReasons.Cancelled => ApiProblems.Problem(StatusCodes.Status410Gone, reason, "The appointment was cancelled."),
        _ => ApiProblems.Problem(StatusCodes.Status404NotFound, JoinReasons.NotFound, "This link is not valid."),
    };
}
