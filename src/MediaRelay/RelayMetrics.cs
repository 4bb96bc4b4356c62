using Prometheus;

namespace Teletherapy.MediaRelay;

/// <summary>The relay's Prometheus metrics. Counters are incremented per packet, so they are lock-free and label children are cached.</summary>
internal static class RelayMetrics
{
    public static readonly Gauge Peers = Metrics.CreateGauge(
        "teletherapy_relay_peers", "Peer transports that exist (connecting or connected).");

    public static readonly Counter PacketsReceived = Metrics.CreateCounter(
        "teletherapy_relay_packets_received_total", "Packets received on the media sockets.");

    /// <summary>System calls that read or wrote UDP datagrams, by direction: with the packet counters, how much each batches.</summary>
    public static readonly Counter UdpCalls = Metrics.CreateCounter(
        "teletherapy_relay_udp_calls_total", "System calls reading (receive) or writing (send) the media UDP socket.",
        new CounterConfiguration { LabelNames = ["direction"] });

    public static readonly Counter.Child UdpReceiveCalls = UdpCalls.WithLabels("receive");

    public static readonly Counter.Child UdpSendCalls = UdpCalls.WithLabels("send");

    public static readonly Counter BytesReceived = Metrics.CreateCounter(
        "teletherapy_relay_bytes_received_total", "Bytes received on the media sockets.");

    public static readonly Counter PacketsSent = Metrics.CreateCounter(
        "teletherapy_relay_packets_sent_total", "Packets sent on the media sockets.");

    public static readonly Counter BytesSent = Metrics.CreateCounter(
        "teletherapy_relay_bytes_sent_total", "Bytes sent on the media sockets.");

    public static readonly Counter PacketsForwarded = Metrics.CreateCounter(
        "teletherapy_relay_packets_forwarded_total", "RTP packets forwarded from a producer to a consumer.");

    /// <summary>DTLS handshakes that ended, by result (<c>ok</c>, <c>failed</c>: refused, timed out or broken).</summary>
    public static readonly Counter DtlsHandshakes = Metrics.CreateCounter(
        "teletherapy_dtls_handshakes_total", "DTLS handshakes of the relay that ended, by result: ok or failed.", "result");

    public static readonly Histogram DtlsHandshakeSeconds = Metrics.CreateHistogram(
        "teletherapy_dtls_handshake_seconds",
        "Time from the first DTLS packet to completed DTLS-SRTP keying.",
        new HistogramConfiguration { Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    public static readonly Counter Retransmissions = Metrics.CreateCounter(
        "teletherapy_relay_retransmissions_total", "Packets resent to subscribers from the retransmission buffer in answer to their NACKs.");

    public static readonly Counter RetransmissionsOverBudget = Metrics.CreateCounter(
        "teletherapy_relay_retransmissions_over_budget_total", "NACKed packets not resent because the subscriber's repair budget (half its layer's rate) was spent: on a congested link more repairs only deepen the loss.");

    public static readonly Counter ClimbsFailed = Metrics.CreateCounter(
        "teletherapy_relay_climbs_failed_total", "Moves of a subscriber up a simulcast layer undone within two seconds because the subscriber NACKed a quarter of the new layer.");

    public static readonly Counter NacksReceived = Metrics.CreateCounter(
        "teletherapy_relay_nacks_received_total", "Generic NACK packets received from subscribers.");

    public static readonly Counter NacksSent = Metrics.CreateCounter(
        "teletherapy_relay_nacks_sent_total", "Generic NACK packets sent to publishers for packets lost on their way to the relay.");

    public static readonly Counter NackedPackets = Metrics.CreateCounter(
        "teletherapy_relay_nacked_packets_total", "Sequence numbers asked for again from publishers (each attempt counts).");

    public static readonly Counter RepairsReceived = Metrics.CreateCounter(
        "teletherapy_relay_repairs_received_total", "RTX packets from publishers restored into their original stream.");

    public static readonly Counter PlayoutDelayRaised = Metrics.CreateCounter(
        "teletherapy_relay_playout_delay_raised_total", "Times a subscriber's video was given a playout delay because a hop it depends on lost packets.");

    public static readonly Counter KeyFrameRequestsSent = Metrics.CreateCounter(
        "teletherapy_relay_keyframe_requests_sent_total", "PLIs sent to publishers (after coalescing).");

    public static readonly Counter TransportFeedbackSent = Metrics.CreateCounter(
        "teletherapy_relay_transport_feedback_sent_total", "Transport-wide congestion control feedback packets sent to publishers.");

    public static readonly Counter LayerSwitches = Metrics.CreateCounter(
        "teletherapy_relay_layer_switches_total", "Simulcast layer switches of subscribers (audio-only fallback counts as a switch).");

    private static readonly Counter Dropped = Metrics.CreateCounter(
        "teletherapy_relay_packets_dropped_total",
        "Packets dropped, by reason.",
        new CounterConfiguration { LabelNames = ["reason"] });

    public static readonly Counter.Child DroppedUnknownRemote = Dropped.WithLabels("unknown-remote");
    public static readonly Counter.Child DroppedMalformed = Dropped.WithLabels("malformed");
    public static readonly Counter.Child DroppedStunRejected = Dropped.WithLabels("stun-rejected");
    public static readonly Counter.Child DroppedSrtpFailed = Dropped.WithLabels("srtp-auth");

    /// <summary>An SRTP/SRTCP packet whose index the replay window has already seen (RFC 3711 §3.3.2).</summary>
    public static readonly Counter.Child DroppedSrtpReplay = Dropped.WithLabels("srtp-replay");

    /// <summary>An SRTP/SRTCP packet older than the replay window (128 packets behind the newest), so unverifiable as new.</summary>
    public static readonly Counter.Child DroppedSrtpOutOfWindow = Dropped.WithLabels("srtp-out-of-window");

    /// <summary>A DTLS record from an address no ICE check has been accepted from: a handshake must follow a check (RFC 8445 §7.3, RFC 7983).</summary>
    public static readonly Counter.Child DroppedDtlsBeforeIce = Dropped.WithLabels("dtls-before-ice");
    public static readonly Counter.Child DroppedNotAdmitted = Dropped.WithLabels("not-admitted");
    public static readonly Counter.Child DroppedNoKeys = Dropped.WithLabels("before-keys");
    public static readonly Counter.Child DroppedUnknownSsrc = Dropped.WithLabels("unknown-ssrc");
    public static readonly Counter.Child DroppedSendFailed = Dropped.WithLabels("send-failed");

    /// <summary>A packet for an ICE-TCP connection whose send queue was full (the subscriber reads too slowly or not at all).</summary>
    public static readonly Counter.Child DroppedTcpQueueFull = Dropped.WithLabels("tcp-queue-full");

    /// <summary>The retransmission buffers' packet storage, by state: held by live streams, or kept for the next ones.</summary>
    public static readonly Gauge RetransmissionStorage = Metrics.CreateGauge(
        "teletherapy_relay_retransmission_storage_bytes", "Packet storage of the retransmission buffers: in_use by live video streams, or kept for reuse by the next ones.", "state");

    public static readonly Gauge.Child RetransmissionStorageInUse = RetransmissionStorage.WithLabels("in_use");

    public static readonly Gauge.Child RetransmissionStorageKept = RetransmissionStorage.WithLabels("kept");

    public static readonly Gauge TcpConnections = Metrics.CreateGauge(
        "teletherapy_relay_tcp_connections", "Open ICE-TCP connections.");

    /// <summary>
    /// Packets queued on ICE-TCP connections, by kind: <c>stun</c> (answers to checks, also on pairs that are not used)
    /// and <c>media</c> (DTLS, RTP, RTCP: only for clients whose selected path is TCP). Media here from clients that also
    /// have UDP means a path was chosen wrongly.
    /// </summary>
    private static readonly Counter TcpPacketsSent = Metrics.CreateCounter(
        "teletherapy_relay_tcp_packets_sent_total", "Packets queued for sending on ICE-TCP connections, by kind: stun, or media (DTLS, RTP, RTCP).",
        new CounterConfiguration { LabelNames = ["kind"] });

    public static readonly Counter.Child TcpStunSent = TcpPacketsSent.WithLabels("stun");

    public static readonly Counter.Child TcpMediaSent = TcpPacketsSent.WithLabels("media");

    private static readonly Counter TcpRefused = Metrics.CreateCounter(
        "teletherapy_relay_tcp_connections_refused_total",
        "ICE-TCP connections refused or closed by a limit, by reason: connection-limit and address-limit (closed at accept), idle-timeout (no valid STUN check in time), send-stalled (the send queue stayed full).",
        new CounterConfiguration { LabelNames = ["reason"] });

    public static readonly Counter.Child TcpRefusedConnectionLimit = TcpRefused.WithLabels("connection-limit");
    public static readonly Counter.Child TcpRefusedAddressLimit = TcpRefused.WithLabels("address-limit");
    public static readonly Counter.Child TcpClosedIdle = TcpRefused.WithLabels("idle-timeout");
    public static readonly Counter.Child TcpClosedStalled = TcpRefused.WithLabels("send-stalled");

    private static readonly Counter LimitsHit = Metrics.CreateCounter(
        "teletherapy_relay_limits_hit_total",
        "Requests or packets refused by one of the relay's caps (the Media options), by limit (MediaLimits).",
        new CounterConfiguration { LabelNames = ["limit"] });

    public static readonly Counter.Child LimitSdpSize = LimitsHit.WithLabels(MediaLimits.SdpSize);
    public static readonly Counter.Child LimitMediaSections = LimitsHit.WithLabels(MediaLimits.MediaSections);
    public static readonly Counter.Child LimitSimulcastLayers = LimitsHit.WithLabels(MediaLimits.SimulcastLayers);
    public static readonly Counter.Child LimitPeersPerRouter = LimitsHit.WithLabels(MediaLimits.PeersPerRouter);
    public static readonly Counter.Child LimitRouters = LimitsHit.WithLabels(MediaLimits.Routers);
    public static readonly Counter.Child LimitTransports = LimitsHit.WithLabels(MediaLimits.Transports);
    public static readonly Counter.Child LimitDtlsHandshakes = LimitsHit.WithLabels(MediaLimits.DtlsHandshakes);
    public static readonly Counter.Child LimitConnectionTests = LimitsHit.WithLabels(MediaLimits.ConnectionTests);
    public static readonly Counter.Child LimitConnectionTestsPerAddress = LimitsHit.WithLabels(MediaLimits.ConnectionTestsPerAddress);

    public static Counter.Child LimitHit(string limit) => limit switch
    {
        MediaLimits.SdpSize => LimitSdpSize,
        MediaLimits.MediaSections => LimitMediaSections,
        MediaLimits.SimulcastLayers => LimitSimulcastLayers,
        MediaLimits.PeersPerRouter => LimitPeersPerRouter,
        MediaLimits.Routers => LimitRouters,
        MediaLimits.Transports => LimitTransports,
        MediaLimits.DtlsHandshakes => LimitDtlsHandshakes,
        MediaLimits.ConnectionTests => LimitConnectionTests,
        MediaLimits.ConnectionTestsPerAddress => LimitConnectionTestsPerAddress,
        _ => LimitsHit.WithLabels(limit),
    };
}
