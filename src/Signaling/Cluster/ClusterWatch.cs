using Orleans.Runtime;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// Follows Orleans' view of the cluster and cleans up after a node that died: its hub connections in rooms here have
/// dropped (as a closed tab would, with the waiting-room grace), and connections here whose room lived there are
/// closed so that their clients reconnect and rejoin the room where it comes back.
/// </summary>
internal sealed partial class ClusterWatch(
    IClusterMembershipService membership,
    ClusterHubLifetimeManager connections,
    ClusterSessionDoor door,
    SessionCoordinator sessions,
    Teletherapy.Scheduling.Data.SessionRoomStateStore states,
    Teletherapy.Scheduling.Data.ClusterDrainStore drains,
    Microsoft.Extensions.Options.IOptions<Orleans.Configuration.ClusterOptions> cluster,
    TimeProvider time,
    ILogger<ClusterWatch> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(FollowMembershipAsync(stoppingToken), PruneStatesAsync(stoppingToken));

    /// <summary>Saved room states hold names (patient data): each node deletes those of rooms closed a day ago, hourly.</summary>
    private async Task PruneStatesAsync(CancellationToken stoppingToken)
    {
        using var hourly = new PeriodicTimer(TimeSpan.FromHours(1), time);
        try
        {
            do
            {
                try
                {
                    await states.PruneAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (System.Data.Common.DbException ex)
                {
                    LogPruneFailed(ex);
                }
            }
            while (await hourly.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task FollowMembershipAsync(CancellationToken stoppingToken)
    {
        try
        {
            var previous = membership.CurrentSnapshot;
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken).ConfigureAwait(false))
            {
                foreach (var change in snapshot.CreateUpdate(previous).Changes.Where(c => c.Status == SiloStatus.Dead))
                {
                    await NodeDiedAsync(change.SiloAddress).ConfigureAwait(false);
                }

                previous = snapshot;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task NodeDiedAsync(SiloAddress node)
    {
        var dropped = connections.ConnectionsOn(node);
        var moved = door.ConnectionsHomedOn(node);
        LogNodeDied(node.ToString(), dropped.Count, moved.Count);
        foreach (var connectionId in dropped)
        {
            await sessions.DisconnectedAsync(connectionId).ConfigureAwait(false);
            connections.Forget(connectionId);
        }

        foreach (var connectionId in moved)
        {
            connections.Abort(connectionId);
        }

        try
        {
            await drains.ForgetAsync(cluster.Value.ClusterId, node.ToParsableString()).ConfigureAwait(false);
        }
        catch (System.Data.Common.DbException ex)
        {
            LogDrainMarkKept(ex);
        }
    }

    [LoggerMessage(EventId = 3602, Level = LogLevel.Warning, Message = "Saved room states could not be pruned; next try in an hour")]
    private partial void LogPruneFailed(Exception exception);

    [LoggerMessage(EventId = 3604, Level = LogLevel.Warning, Message = "A departed node's drain mark could not be removed (harmless: its address never comes back)")]
    private partial void LogDrainMarkKept(Exception exception);

    [LoggerMessage(EventId = 3600, Level = LogLevel.Warning, Message = "Node {Node} left the cluster: {Dropped} of its connections dropped from rooms here, {Moved} connections here reconnect to rooms it held")]
    private partial void LogNodeDied(string node, int dropped, int moved);
}
