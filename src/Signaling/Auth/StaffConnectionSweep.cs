using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Signaling.Auth;

/// <summary>
/// Closes the session-hub connections of accounts deactivated where this node did not see it: by an admin on another
/// node of a cluster (whose API closes the connections it holds itself at once), or in the database directly. Every
/// <see cref="Interval"/>, while this node holds staff connections, it reads the accounts once and closes the
/// connections of those no longer active or no longer there. The database is the one truth every node shares, so no
/// message between nodes can be lost on the way.
/// </summary>
internal sealed partial class StaffConnectionSweep(StaffConnections connections, StaffAccounts accounts, TimeProvider time, ILogger<StaffConnectionSweep> logger)
    : BackgroundService
{
    /// <summary>The longest a deactivated account keeps a connection on a node other than the admin's.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>One sweep; returns how many connections it closed.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var connected = connections.StaffIds();
        if (connected.Count == 0)
        {
            return 0;
        }

        var active = (await accounts.ListAsync(cancellationToken).ConfigureAwait(false)).Where(s => s.Active).Select(s => s.Id).ToHashSet();
        var closed = connected.Where(id => !active.Contains(id)).Sum(connections.Close);
        if (closed > 0)
        {
            LogClosed(logger, closed);
        }

        return closed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await SweepAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The database may be away for a moment; the next tick tries again.
                    LogFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Closed {Count} session connections of deactivated staff accounts")]
    private static partial void LogClosed(ILogger logger, int count);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Could not check the staff accounts of open session connections")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
