using Teletherapy.Scheduling.Audit;

namespace Teletherapy.Signaling.Sessions;

// Housekeeping: the coordinator as a hosted service. Every few seconds the waiting places of those who dropped longer
// than the grace ago are given up; the session gauges are read from the rooms held here at scrape time.
internal sealed partial class SessionCoordinator : IHostedService, IDisposable
{
    private System.Threading.ITimer? _housekeeping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        SessionMetrics.Track(this);
        _housekeeping = _time.CreateTimer(_ => _ = HousekeepingAsync(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        SessionMetrics.Untrack(this);
        _housekeeping?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        SessionMetrics.Untrack(this);
        _housekeeping?.Dispose();
    }

    internal async Task HousekeepingAsync()
    {
        try
        {
            var now = _time.GetUtcNow();
            foreach (var room in _registry.Rooms())
            {
                var expired = room.ExpireDropped(now, WaitingGrace);
                foreach (var participant in expired)
                {
                    _media.RemovePeer(room, participant.Id);
                    if (participant.ContactId is { } contactId)
                    {
                        await _audit.AppendAsync(room.AppointmentId, AuditKinds.Left, AuditActor.Contact(contactId)).ConfigureAwait(false);
                    }
                }

                if (expired.Count > 0)
                {
                    await PublishSnapshotAsync(room).ConfigureAwait(false);
                }
            }
        }
#pragma warning disable CA1031 // Housekeeping must go on for the other sessions.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogHousekeepingFailed(ex);
        }
    }

    /// <summary>This coordinator's share of the session gauges (<see cref="SessionMetrics"/> sums them at scrape time).</summary>
    internal (int Active, int Waiting) GaugeValues()
    {
        var active = 0;
        var waiting = 0;
        foreach (var room in _registry.Rooms())
        {
            if (room.IsEnded)
            {
                continue;
            }

            if (room.ConnectedCount > 0)
            {
                active++;
            }

            waiting += room.WaitingCount;
        }

        return (active, waiting);
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Error, Message = "Session housekeeping failed")]
    private partial void LogHousekeepingFailed(Exception exception);
}
