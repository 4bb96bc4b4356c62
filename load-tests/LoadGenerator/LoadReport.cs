namespace Teletherapy.LoadTests;

/// <summary>
/// report.json (camelCase). The fields named in the contract (README: Endpoints) come first; the rest explains them.
/// Rates and CPU are over the measured window: from the moment the sessions were up for <see cref="DurationSeconds"/>.
/// </summary>
internal sealed record LoadReport
{
    public required string Target { get; init; }

    public required int Sessions { get; init; }

    /// <summary>People in each session (2: a 1:1 session); each publishes audio and video to the others.</summary>
    public int Participants { get; init; } = 2;

    public required double DurationSeconds { get; init; }

    /// <summary>RTP packets the participants sent in the window.</summary>
    public required long PacketsSent { get; init; }

    /// <summary>RTP packets the participants received (decrypted, with a trailer) in the window.</summary>
    public required long PacketsReceived { get; init; }

    /// <summary>
    /// Packets the subscribers should have received in the window: every packet of a publisher's audio and video
    /// once at each of the session's other participants (sent × (participants − 1) without simulcast).
    /// </summary>
    public long PacketsExpected { get; init; }

    /// <summary>
    /// Packets the relay forwarded to subscribers in the window, counted where they arrive (same for every target); with
    /// <see cref="Listeners"/>, the relay's own count (<see cref="RelayForwardedCounter"/>), most of them dropped unread.
    /// </summary>
    public required long ForwardedPackets { get; init; }

    /// <summary>
    /// <c>--listeners</c>: participants of each session that took in their media through the window (the others dropped
    /// theirs unread: loss, transit and tracks are the listeners'); null: everyone.
    /// </summary>
    public int? Listeners { get; init; }

    /// <summary><c>--send-tick</c> in milliseconds: the participants sent on ticks of this length; null: each packet on its own time.</summary>
    public double? SendTickMs { get; init; }

    /// <summary>With <see cref="Listeners"/>: RTP packets that reached the others' connections in the window and were dropped unread.</summary>
    public long PacketsDroppedUnread { get; init; }

    /// <summary>1 − received / expected, expected from the per-stream counters the senders put in the payload trailer.</summary>
    public required double LossRatio { get; init; }

    public required double? LatencyP50Ms { get; init; }

    public required double? LatencyP99Ms { get; init; }

    /// <summary>
    /// utime + stime of the relay process in the window; for servers the tool did not start, the sum of their nodes'
    /// <c>process_cpu_seconds_total</c> over the window (null when neither is known).
    /// </summary>
    public required double? RelayCpuSeconds { get; init; }

    public required double? CpuMicrosPerForwardedPacket { get; init; }

    /// <summary>
    /// The part of <see cref="CpuMicrosPerForwardedPacket"/> the kernel spent on the relay's behalf (stime of
    /// /proc/PID/stat: system calls, the network stack, waking and switching threads); the rest is the relay's own code
    /// (managed code, the runtime, OpenSSL's ciphers). Null for servers the tool did not start.
    /// </summary>
    public double? KernelCpuMicrosPerForwardedPacket { get; init; }

    public required long? RelayPeakRssBytes { get; init; }

    /// <summary>
    /// The relay thread that ran longest in the window (by the scheduler's run time, /proc/PID/task/TID/schedstat), e.g.
    /// the media receive thread; null for a relay the tool did not start.
    /// </summary>
    public string? RelayBusiestThread { get; init; }

    /// <summary>That thread's run time per forwarded packet, µs.</summary>
    public double? RelayBusiestThreadCpuMicrosPerForwardedPacket { get; init; }

    /// <summary>That thread's part of the run time of all the relay's threads in the window, 0 to 1.</summary>
    public double? RelayBusiestThreadShare { get; init; }

    /// <summary>Times a second the relay's threads gave up their CPU themselves (slept or waited), all threads together.</summary>
    public double? RelayWakeUpsPerSecond { get; init; }

    /// <summary>Times a second the relay's threads had their CPU taken (preempted), all threads together.</summary>
    public double? RelayPreemptionsPerSecond { get; init; }

    public required double? JoinP50Ms { get; init; }

    public required double? AdmitToFirstPacketP50Ms { get; init; }

    public double? ForwardedPacketsPerCpuSecond { get; init; }

    public int SessionsUp { get; init; }

    public int SessionsFailed { get; init; }

    /// <summary>Tracks that should flow in the sessions up: each participant's audio and video at each other participant.</summary>
    public int TracksExpected { get; init; }

    /// <summary>Of <see cref="TracksExpected"/>, those that delivered packets in the measured window.</summary>
    public int TracksReceived { get; init; }

    public double SetupSeconds { get; init; }

    public double WarmupSeconds { get; init; }

    public bool Simulcast { get; init; }

    public double? JoinP99Ms { get; init; }

    public double? AdmitToFirstPacketP99Ms { get; init; }

    /// <summary>The relay's own forwarded-packet counter over the window, when it has one (our /metrics).</summary>
    public long? RelayForwardedCounter { get; init; }

    public double? RelayCpuPercent { get; init; }

    /// <summary>The relay's threads at the end of the measured window (null for a relay the tool did not start).</summary>
    public int? RelayThreads { get; init; }

    /// <summary>The relay's threads once started, before any session.</summary>
    public int? RelayIdleThreads { get; init; }

    /// <summary>The relay's resident memory once started, before any session (VmRSS).</summary>
    public long? RelayIdleRssBytes { get; init; }

    /// <summary>What each session up added to the relay's memory at its peak: (peak RSS − idle RSS) / sessions up.</summary>
    public long? RelayBytesPerSession =>
        RelayPeakRssBytes is { } peak && RelayIdleRssBytes is { } idle && SessionsUp > 0 ? (peak - idle) / SessionsUp : null;

    public double GeneratorCpuSeconds { get; init; }

    /// <summary>Threads of the generator's shared receive group (0: a receive thread per connection).</summary>
    public int GeneratorReceiveThreads { get; init; }

    /// <summary>Datagrams the receive group read per wake-up over the window (null without a group).</summary>
    public double? GeneratorDatagramsPerWakeUp { get; init; }

    /// <summary>Each server node's share (our server only; one entry without <c>--server</c> or with one).</summary>
    public IReadOnlyList<NodeReport> Nodes { get; init; } = [];

    /// <summary>The flood at the media port during the window (<c>--flood</c>), or null.</summary>
    public FloodReport? Flood { get; init; }

    /// <summary>Sessions ended and replaced every <see cref="ChurnEverySeconds"/> (0: no churn).</summary>
    public int Churn { get; init; }

    public double? ChurnEverySeconds { get; init; }

    /// <summary>Sessions that churn ended in the window (contacts left, the therapist's End session accepted).</summary>
    public int SessionsEnded { get; init; }

    /// <summary>Sessions that churn started in the window (new patient and appointment, joined and admitted, or failed).</summary>
    public int SessionsStartedByChurn { get; init; }

    /// <summary>Churned sessions whose end was refused or failed (each also in <see cref="Errors"/>).</summary>
    public int SessionEndFailures { get; init; }

    /// <summary>Of <see cref="SessionsUp"/>, those whose media had stopped at the end of the window (a transport closed).</summary>
    public int SessionsWithoutMedia { get; init; }

    /// <summary>The relay's open file descriptors once started, before any session.</summary>
    public int? RelayIdleOpenFds { get; init; }

    /// <summary>Where the measured window starts in <see cref="Series"/> (its T, seconds since the run started).</summary>
    public double WindowStartSeconds { get; init; }

    /// <summary>With churn: growth of memory, threads, descriptors and CPU per packet over the window, and the verdict.</summary>
    public SoakReport? Soak { get; init; }

    public required string Machine { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public IReadOnlyList<string> Errors { get; init; } = [];

    public IReadOnlyList<Sample> Series { get; init; } = [];
}
