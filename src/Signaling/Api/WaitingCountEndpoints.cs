using Teletherapy.Scheduling.Access;
using Teletherapy.Signaling.Auth;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Api;

/// <summary>How many people wait in an appointment's waiting room (the calendar's badge).</summary>
internal sealed record WaitingCountResponse(Guid AppointmentId, int Waiting);

/// <summary>
/// <c>GET /api/v1/appointments/{id}/waiting</c>: a cheap, read-only count for the calendar badge, for therapists
/// listed on the appointment. Counts connected participants in the waiting room (waiting or sent back).
/// </summary>
internal static class WaitingCountEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/appointments/{id:guid}/waiting", async (Guid id, ISessionDoor sessions) => Results.Ok(new WaitingCountResponse(id, await sessions.WaitingCountAsync(id).ConfigureAwait(false))))
            .RequireAppointment(AppointmentAction.Join)
            .RequireAuthorization(AuthSetup.StaffPolicy)
            .WithTags("Appointments")
            .WithName("GetWaitingCount")
            .WithSummary("How many people wait in the appointment's waiting room now (listed therapists only).")
            .Produces<WaitingCountResponse>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
    }
}
