using System.Collections.Concurrent;
using Prometheus;

namespace Teletherapy.Signaling.Sessions;

/// <summary>Session and waiting-room metrics (README: Endpoints). Gauges are read from the live rooms at scrape time.</summary>
internal static class SessionMetrics
{
    // The gauges live in the process-wide registry; the coordinators that feed them come and go with their hosts
    // (several hosts in one process in tests). One callback sums the running ones, so a stopped host is never counted.
    private static readonly ConcurrentDictionary<SessionCoordinator, byte> Running = new();
    private static int _callbackAdded;

    public static readonly Gauge SessionsActive = Metrics.CreateGauge(
        "teletherapy_sessions_active", "Sessions with at least one connected participant.");

    /// <summary>Hub connections open to this node (in a cluster, a room's people may be connected to other nodes).</summary>
    public static readonly Gauge HubConnections = Metrics.CreateGauge(
        "teletherapy_hub_connections", "Hub (SignalR) connections open to this node.");

    public static readonly Gauge WaitingRoomParticipants = Metrics.CreateGauge(
        "teletherapy_waiting_room_participants", "Participants waiting to be admitted, over all sessions.");

    /// <summary>How long people waited in the waiting room before a therapist let them in.</summary>
    public static readonly Histogram WaitBeforeAdmit = Metrics.CreateHistogram(
        "teletherapy_waiting_room_wait_seconds",
        "Time from arriving (or being sent back) in the waiting room to being admitted.",
        new HistogramConfiguration { Buckets = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600] });

    public static readonly Histogram AdmitToFirstPacket = Metrics.CreateHistogram(
        "teletherapy_admit_to_first_packet_seconds",
        "Time from a therapist's Admit to the first media packet the relay sends to the admitted participant.",
        new HistogramConfiguration { Buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5] });

    public static readonly Counter JoinsRefused = Metrics.CreateCounter(
        "teletherapy_session_joins_refused_total", "Join attempts the rules refused, by reason.",
        new CounterConfiguration { LabelNames = ["reason"] });

    public static void Track(SessionCoordinator coordinator)
    {
        Running[coordinator] = 0;
        if (Interlocked.Exchange(ref _callbackAdded, 1) == 0)
        {
            Metrics.DefaultRegistry.AddBeforeCollectCallback(UpdateGauges);
        }
    }

    public static void Untrack(SessionCoordinator coordinator) => Running.TryRemove(coordinator, out _);

    private static void UpdateGauges()
    {
        var active = 0;
        var waiting = 0;
        foreach (var coordinator in Running.Keys)
        {
            var (a, w) = coordinator.GaugeValues();
            active += a;
            waiting += w;
        }

        SessionsActive.Set(active);
        WaitingRoomParticipants.Set(waiting);
    }
}
