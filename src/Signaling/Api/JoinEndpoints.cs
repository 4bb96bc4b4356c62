using Teletherapy.Signaling.Abuse;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Signaling.Api;

/// <summary>What the join page learns from a good link. <see cref="Status"/>: <c>waiting</c> before the room opens, <c>open</c> after.</summary>
internal sealed record JoinLinkResponse(Guid AppointmentId, DateTimeOffset Start, DateTimeOffset End, DateTimeOffset OpensAt, string Status, string ContactName, string Role);

/// <summary>Join links: <c>GET /api/v1/join/{token}</c>, no sign-in.</summary>
internal static class JoinEndpoints
{
    public const string StatusWaiting = "waiting";
    public const string StatusOpen = "open";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/join/{token}", async (string token, JoinService join, AuditLog audit, CancellationToken ct) =>
        {
            var check = await join.ResolveJoinTokenAsync(token, ct);
            if (!check.Decision.Allowed)
            {
                return JoinProblems.ForLink(check.Decision.Reason!);
            }

            var appointment = check.Appointment!;
            await audit.AppendAsync(appointment.Id, AuditKinds.LinkOpened, AuditActor.Contact(check.Contact!.Id), cancellationToken: ct);
            return Results.Ok(new JoinLinkResponse(
                appointment.Id, appointment.Start, appointment.End, appointment.OpensAt, check.RoomOpen ? StatusOpen : StatusWaiting, check.Contact.Name, check.Contact.Role));
        })
            .AllowAnonymous()
            .RequireRateLimiting(Throttling.JoinLookup)
            .WithTags("Join")
            .WithName("ResolveJoinLink")
            .WithSummary("Resolves a join link: the appointment, when the room opens, and whether it is open now.")
            .Produces<JoinLinkResponse>().ProducesProblem(StatusCodes.Status410Gone).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests);
    }
}
