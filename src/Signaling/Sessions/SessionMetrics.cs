using Prometheus;

namespace Teletherapy.Signaling.Sessions;

/// <summary>Session and waiting-room metrics (api.md). Gauges are read from the live rooms at scrape time.</summary>
internal static class SessionMetrics
{
    public static readonly Gauge SessionsActive = Metrics.CreateGauge(
        "teletherapy_sessions_active", "Sessions with at least one connected participant.");

    public static readonly Gauge WaitingRoomParticipants = Metrics.CreateGauge(
        "teletherapy_waiting_room_participants", "Participants waiting to be admitted, over all sessions.");

    public static readonly Histogram AdmitToFirstPacket = Metrics.CreateHistogram(
        "teletherapy_admit_to_first_packet_seconds",
        "Time from a therapist's Admit to the first media packet the relay sends to the admitted participant.",
        new HistogramConfiguration { Buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5] });

    public static readonly Counter JoinsRefused = Metrics.CreateCounter(
        "teletherapy_session_joins_refused_total", "Join attempts the rules refused, by reason.",
        new CounterConfiguration { LabelNames = ["reason"] });
}
