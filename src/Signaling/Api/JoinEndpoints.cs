using Teletherapy.Signaling.Abuse;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Signaling.Api;

/// <summary>
/// What the join page learns from a good link. <see cref="Status"/>: <c>waiting</c> before the room opens, <c>open</c>
/// after. <see cref="TimeZone"/> is the clinic's (IANA id), the zone its emails state the time in, so the page can say
/// the same time when the patient's browser is elsewhere.
/// </summary>
internal sealed record JoinLinkResponse(Guid AppointmentId, DateTimeOffset Start, DateTimeOffset End, DateTimeOffset OpensAt, string Status, string ContactName, string Role, string TimeZone);

/// <summary>Join links: <c>GET /api/v1/join/{token}</c>, no sign-in.</summary>
internal static class JoinEndpoints
{
    public const string StatusWaiting = "waiting";
    public const string StatusOpen = "open";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/join/{token}", async (string token, JoinService join, ClinicSettings clinics, AuditLog audit, CancellationToken ct) =>
        {
            var check = await join.ResolveJoinTokenAsync(token, ct);
            if (!check.Decision.Allowed)
            {
                return JoinProblems.ForLink(check.Decision.Reason!);
            }

            var appointment = check.Appointment!;
            await audit.AppendAsync(appointment.Id, AuditKinds.LinkOpened, AuditActor.Contact(check.Contact!.Id), cancellationToken: ct);
            var clinic = await clinics.GetDefaultAsync(ct);
            return Results.Ok(new JoinLinkResponse(
                appointment.Id, appointment.Start, appointment.End, appointment.OpensAt, check.RoomOpen ? StatusOpen : StatusWaiting, check.Contact.Name, check.Contact.Role,
                clinic?.TimeZone ?? "UTC"));
        })
            .AllowAnonymous()
            .RequireAddressLimit(Throttling.JoinLookup)
            .WithTags("Join")
            .WithName("ResolveJoinLink")
            .WithSummary("Resolves a join link: the appointment, when the room opens, and whether it is open now.")
            .Produces<JoinLinkResponse>().ProducesProblem(StatusCodes.Status410Gone).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests);
    }
}
