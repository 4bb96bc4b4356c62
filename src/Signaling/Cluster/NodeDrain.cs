using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Teletherapy.Scheduling.Data;
using Teletherapy.Signaling.Auth;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// Draining this node before maintenance: it takes no new rooms (placement leaves it out), its idle rooms are handed
/// over at once (their grains go, and come back elsewhere when next needed), rooms with people in them stay until
/// they empty, and <c>/healthz</c> says <c>draining</c> so the proxy sends no new visitors. Stopping the node (SIGTERM)
/// afterwards moves whatever is left: its people reconnect and rejoin where the room comes back.
/// </summary>
internal sealed partial class NodeDrain(
    ClusterDrainStore store,
    IOptions<ClusterOptions> cluster,
    ILocalSiloDetails silo,
    IGrainFactory grains,
    SessionCoordinator sessions,
    RoomPlacementDirector placement,
    ILogger<NodeDrain> logger)
{
    private int _draining;

    public bool IsDraining => Volatile.Read(ref _draining) == 1;

    /// <returns>The idle rooms handed over and the live rooms that stay.</returns>
    public async Task<(int Idle, int Live)> StartAsync(CancellationToken cancellationToken)
    {
        await store.MarkAsync(cluster.Value.ClusterId, silo.SiloAddress.ToParsableString(), cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _draining, 1);
        placement.Forget();
        var rooms = sessions.RoomIds();
        var idle = rooms.Where(IsIdle).ToList();
        foreach (var id in idle)
        {
            await grains.GetGrain<IRoomGrain>(id).Release().ConfigureAwait(false);
        }

        LogDraining(idle.Count, rooms.Count - idle.Count);
        return (idle.Count, rooms.Count - idle.Count);
    }

    /// <summary>A room nobody is connected to (or that has ended) has nothing that keeps it on this node.</summary>
    public bool IsIdle(Guid appointmentId) => sessions.FindRoom(appointmentId) is not { IsEnded: false, ConnectedCount: > 0 };

    [LoggerMessage(EventId = 3603, Level = LogLevel.Warning, Message = "This node drains: {Idle} idle rooms handed over, {Live} live rooms stay until they empty")]
    private partial void LogDraining(int idle, int live);
}

/// <summary><c>/healthz</c>: a draining node reports itself unhealthy (<c>draining</c>), so load balancers stop sending new visitors.</summary>
internal sealed class DrainHealthCheck(NodeDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(drain.IsDraining ? HealthCheckResult.Unhealthy("draining") : HealthCheckResult.Healthy("open"));
}

internal sealed record DrainResponse(string Node, bool Draining, int IdleRoomsHandedOver, int LiveRooms);

internal static class DrainEndpoints
{
    /// <summary>
    /// <c>POST /api/v1/admin/drain</c> (admin): this node drains. On a single node (no cluster) there is nowhere to
    /// hand rooms to: 409.
    /// </summary>
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/admin/drain", async (HttpContext context, CancellationToken ct) =>
        {
            if (context.RequestServices.GetService<NodeDrain>() is not { } drain)
            {
                return Results.Problem(
                    title: "Not a cluster", detail: "This server runs alone (Cluster__Enabled is not set): there is no other node to hand its rooms to.",
                    statusCode: StatusCodes.Status409Conflict);
            }

            var (idle, live) = await drain.StartAsync(ct).ConfigureAwait(false);
            var node = context.RequestServices.GetRequiredService<ILocalSiloDetails>();
            return Results.Ok(new DrainResponse(node.Name, true, idle, live));
        })
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithTags("Cluster")
            .WithName("DrainNode")
            .WithSummary("This node takes no new rooms and hands its idle ones over (admins only).")
            .Produces<DrainResponse>().ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status403Forbidden);
    }
}
