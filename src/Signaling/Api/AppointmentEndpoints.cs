using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Calendar;
using Teletherapy.Scheduling.Join;
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

/// <summary>Appointments: create, calendar, reschedule, cancel, join, audit, minutes.</summary>
internal static class AppointmentEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var group = api.MapGroup("/appointments").WithTags("Appointments");

        group.MapPost("", async (CreateAppointmentRequest body, CreateAppointment create, CancellationToken ct) =>
            ApiProblems.From(await create.HandleAsync(body, ct), c => Results.Created($"/api/v1/appointments/{c.Id}", c)))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("CreateAppointment")
            .WithSummary("Creates an appointment or a series (repeat) and sends the scheduled-appointment email (R6, R7).")
            .Produces<AppointmentCreated>(StatusCodes.Status201Created).ProducesValidationProblem();

        group.MapGet("", async (DateTimeOffset? from, DateTimeOffset? to, HttpContext context, GetCalendar calendar, CancellationToken ct) =>
        {
            var staffId = context.User.StaffId();
            return ApiProblems.From(await calendar.HandleAsync(from, to, staffId, ct), entries => Results.Ok(entries.Select(e => new CalendarItem(
                e.Appointment.Id, e.Appointment.PatientId, e.PatientName, e.Appointment.SeriesId, e.Appointment.SeriesIndex, e.Appointment.Start, e.Appointment.End,
                e.Appointment.OpensAt, e.Appointment.Teletherapy, e.Appointment.Status, e.Appointment.TherapistIds, e.Join?.Allowed, e.Join?.Reason)).ToList()));
        })
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("GetCalendar")
            .WithSummary("The calendar between from and to: the signed-in therapist's appointments, or all with an API key.")
            .Produces<List<CalendarItem>>();

        group.MapGet("/{id:guid}", async (Guid id, GetCalendar calendar, CancellationToken ct) =>
            await calendar.FindAsync(id, ct) is { } found ? Results.Ok(found) : ApiProblems.NotFoundProblem("No such appointment."))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("GetAppointment").WithSummary("One appointment.")
            .Produces<AppointmentView>().ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPut("/{id:guid}", async (Guid id, RescheduleAppointmentRequest body, HttpContext context, RescheduleAppointment reschedule, CancellationToken ct) =>
            ApiProblems.From(await reschedule.HandleAsync(id, body, Changer(context), ct), Results.Ok))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("RescheduleAppointment")
            .WithSummary("Moves an appointment: old join links are revoked (contacts in its session are sent away) and a new email with new links is sent.")
            .Produces<AppointmentView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/{id:guid}/cancel", async (Guid id, HttpContext context, CancelAppointment cancel, CancellationToken ct) =>
            ApiProblems.From(await cancel.HandleAsync(id, Changer(context), ct), Results.Ok))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("CancelAppointment")
            .WithSummary("Cancels an appointment; its join links stop working and anyone already in its session is told and sent away.")
            .Produces<AppointmentView>().ProducesProblem(StatusCodes.Status404NotFound);

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
            .WithSummary("Join Session as a listed therapist (R1), from 10 minutes before the start (R2).")
            .Produces<JoinResponse>()
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id:guid}/audit", async (Guid id, GetCalendar calendar, AuditLog audit, CancellationToken ct) =>
            await calendar.FindAsync(id, ct) is null ? ApiProblems.NotFoundProblem("No such appointment.") : Results.Ok(await audit.ListAsync(id, ct)))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("GetAudit").WithSummary("The appointment's audit events in order.")
            .Produces<IReadOnlyList<AuditEvent>>().ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id:guid}/minutes", async (Guid id, GetCalendar calendar, AuditLog audit, CancellationToken ct) =>
            await calendar.FindAsync(id, ct) is null ? ApiProblems.NotFoundProblem("No such appointment.") : Results.Ok(await audit.FaceToFaceAsync(id, ct)))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("GetMinutes").WithSummary("Face-to-face minutes: time with a therapist and an admitted contact both present.")
            .Produces<FaceToFaceTime>().ProducesProblem(StatusCodes.Status404NotFound);
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
