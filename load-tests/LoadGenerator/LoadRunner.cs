using System.Diagnostics;
using System.Globalization;
using Teletherapy.LoadTests.Media;
using Teletherapy.LoadTests.Targets;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.LoadTests;

/// <summary>
/// One run: media, the target, the sessions set up a few at a time, a measured window of <c>--duration</c> once they
/// are up (or the setup timeout passed), a sample every second (live line and charts), then teardown and the report.
/// </summary>
internal sealed class LoadRunner(LoadOptions options, ILoadTarget target, TextWriter progress)
{
    private const int SetupConcurrency = 8;
    private readonly LoadStats _stats = new();
    private readonly List<Sample> _series = [];
    private readonly List<LoadSession> _sessions = [];
    private readonly List<string> _errors = [];
    private readonly Stopwatch _clock = new();
    private readonly Lock _sessionsLock = new();
    private readonly List<double> _endedJoinMs = [];
    private readonly List<double> _endedAdmitMs = [];
    private readonly TaskCompletionSource _measuring = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string _phase = "setup";
    private int _sessionsUp;
    private int _sessionsEnded;
    private int _sessionsStarted;
    private int _endFailures;

    /// <summary>What the sessions that ended sent, were expected to receive and received (frozen as they ended).</summary>
    private (long Sent, long Expected, long Received) _ended;

    /// <summary>Completes when the measured window begins (after setup and warm-up), for a caller that acts inside it.</summary>
    public Task Measuring => _measuring.Task;

    public async Task<LoadReport> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.Now;
        var cache = options.MediaCache ?? Path.Combine(AppContext.BaseDirectory, "media-cache");
        var media = await MediaSet.LoadAsync(cache, options.Simulcast, cancellationToken).ConfigureAwait(false);
        await target.StartAsync(cancellationToken).ConfigureAwait(false);
        var idleRss = target.Relay?.RssBytes();
        var idleThreads = target.Relay?.Threads();
        var idleFds = target.Relay?.OpenFileDescriptors();
        using var pacer = new Pacer(options.PacerThreads, options.SendTick);

        // Every connection is read by these few threads (disposed after the sessions, which leave them first).
        using var clientSockets = new ClientSockets(options);
        _clock.Start();
        using var samplerStop = new CancellationTokenSource();
        var sampler = Task.Run(() => SampleLoopAsync(samplerStop.Token), CancellationToken.None);
        try
        {
            // Setup: a few sessions at a time, all within the setup timeout.
            lock (_sessionsLock)
            {
                _sessions.AddRange(Enumerable.Range(0, options.Sessions).Select(i => NewSession(i, media, clientSockets)));
            }

            // About the same number of contacts join at once whatever the session size.
            using var setupDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            setupDeadline.CancelAfter(options.EffectiveSetupTimeout);
            using var gate = new SemaphoreSlim(Math.Max(1, SetupConcurrency / (options.Participants - 1)));
            var setups = Live().Select(s => SetUpAsync(s, pacer, gate, setupDeadline.Token)).ToList();
            await Task.WhenAll(setups).ConfigureAwait(false);
            var setupSeconds = _clock.Elapsed.TotalSeconds;
            cancellationToken.ThrowIfCancellationRequested();

            // Warm-up (JIT, caches), then the measured window. The relay's /metrics is read once here and thrown away:
            // its first read compiles the whole metrics path (hundreds of milliseconds of the relay's CPU), which the
            // window must not count as forwarding's.
            if (options.Warmup > TimeSpan.Zero && Live().Any(s => s.Up))
            {
                _phase = "warmup";
                var delay = Task.Delay(options.Warmup, cancellationToken);
                await target.ReadNodesAsync(cancellationToken).ConfigureAwait(false);
                await delay.ConfigureAwait(false);
            }

            _phase = "measure";
            foreach (var participant in Live().SelectMany(s => s.Participants).Where(p => !p.Listens))
            {
                participant.StopListening();
            }

            // The relay's own counters are read just outside its CPU window at both ends (before it opens, after it
            // closes), so the window holds no /metrics request of ours.
            var nodesBefore = await target.ReadNodesAsync(cancellationToken).ConfigureAwait(false);
            var before = Snapshot(threads: true);
            _measuring.TrySetResult();
            var (wakeUpsBefore, datagramsBefore) = (clientSockets.WakeUps, clientSockets.Datagrams);
            var tracksBefore = Live().ToDictionary(s => s, s => s.ReceivedTracks(listenersOnly: true));
            _stats.Window.Snapshot(reset: true);
            _stats.Measuring = true;
            var flood = StartFlood(cancellationToken);
            var windowStart = before.Time;

            // Churn: every period the oldest sessions end and as many new ones are set up, while media flows.
            using var churnStop = new CancellationTokenSource();
            var churn = options.Churn > 0
                ? ChurnAsync(media, pacer, clientSockets, churnStop.Token, cancellationToken)
                : Task.CompletedTask;
            if (Live().Any(s => s.Up))
            {
                await Task.Delay(options.Duration, cancellationToken).ConfigureAwait(false);
            }

            // A flood keeps the window open until it is over and memory has settled.
            var floodReport = flood is null ? null : await flood.ConfigureAwait(false);

            _stats.Measuring = false;
            await churnStop.CancelAsync().ConfigureAwait(false);
            var after = Snapshot(threads: true);
            var droppedUnread = Live().SelectMany(s => s.Participants).Where(p => !p.Listens).Sum(p => p.RtpDroppedUnread);
            var threadsInWindow = target.Relay?.Threads();
            var (wakeUps, datagrams) = (clientSockets.WakeUps - wakeUpsBefore, clientSockets.Datagrams - datagramsBefore);
            var nodesAfter = await target.ReadNodesAsync(cancellationToken).ConfigureAwait(false);
            var withoutMedia = Live().Count(s => s.Up && !s.HasMedia);
            var latencies = _stats.Window.Snapshot(reset: false);
            var (tracksExpected, tracksReceived) = TracksInWindow(tracksBefore);

            // A churn period under way (sessions ending or being set up) finishes before teardown.
            await churn.ConfigureAwait(false);

            // Teardown.
            _phase = "teardown";
            foreach (var participant in Live().SelectMany(s => s.Participants))
            {
                participant.StopSending();
            }

            using var teardownDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Task.WhenAll(Live().Select(s => TearDownAsync(s, teardownDeadline.Token))).ConfigureAwait(false);

            var window = after.Time - before.Time;
            var received = after.Received - before.Received;
            var expected = after.Expected - before.Expected;
            var nodes = nodesBefore.Zip(nodesAfter, NodeReport.From).ToList();
            var relayForwarded = SumOrNull(nodes.Select(n => (double?)n.ForwardedPackets)) is { } counted ? (long?)counted : null;

            // With participants that do not listen, what the relay forwarded is its own count; else what arrived.
            var forwarded = options.Listeners is not null ? relayForwarded ?? 0 : received;

            // A relay the tool did not start is measured by its nodes' own process CPU (the same utime + stime).
            var relayCpu = target.Relay is not null ? after.RelayCpu - before.RelayCpu : SumOrNull(nodes.Select(n => n.CpuSeconds));
            var relayThreads = ThreadActivity.Between(before.RelayThreadSamples, after.RelayThreadSamples);
            var live = Live();
            var joins = live.SelectMany(s => s.JoinMs).Concat(_endedJoinMs).ToList();
            var admits = live.Where(s => s.AdmitToFirstPacketMs.HasValue).Select(s => s.AdmitToFirstPacketMs!.Value).Concat(_endedAdmitMs).ToList();
            var lossRatio = expected <= 0 ? 1 : Math.Round(Math.Clamp(1 - ((double)received / expected), 0, 1), 6);
            var series = _series.ToList();
            return new LoadReport
            {
                Target = target.Name,
                Sessions = options.Sessions,
                Participants = options.Participants,
                DurationSeconds = Math.Round(window, 3),
                PacketsSent = after.Sent - before.Sent,
                PacketsReceived = received,
                PacketsExpected = expected,
                ForwardedPackets = forwarded,
                Listeners = options.Listeners,
                SendTickMs = options.SendTick > TimeSpan.Zero ? options.SendTick.TotalMilliseconds : null,
                PacketsDroppedUnread = droppedUnread,
                LossRatio = lossRatio,
                LatencyP50Ms = Round(LatencyHistogram.Quantile(latencies, 0.50)),
                LatencyP99Ms = Round(LatencyHistogram.Quantile(latencies, 0.99)),
                RelayCpuSeconds = Round(relayCpu),
                CpuMicrosPerForwardedPacket = relayCpu is { } cpu && forwarded > 0 ? Math.Round(cpu * 1e6 / forwarded, 2) : null,
                KernelCpuMicrosPerForwardedPacket = after.RelaySystemCpu - before.RelaySystemCpu is { } kernel && forwarded > 0 ? Math.Round(kernel * 1e6 / forwarded, 2) : null,
                ForwardedPacketsPerCpuSecond = relayCpu is { } c && c > 0 ? Math.Round(forwarded / c) : null,
                RelayCpuPercent = relayCpu is { } p && window > 0 ? Math.Round(100 * p / window, 1) : null,
                RelayPeakRssBytes = target.Relay?.PeakRssBytes(),
                RelayBusiestThread = relayThreads?.Busiest,
                RelayBusiestThreadCpuMicrosPerForwardedPacket = relayThreads is { } t && forwarded > 0 ? Math.Round(t.BusiestCpuSeconds * 1e6 / forwarded, 2) : null,
                RelayBusiestThreadShare = relayThreads is { CpuSeconds: > 0 } s ? Math.Round(s.BusiestShare, 3) : null,
                RelayWakeUpsPerSecond = relayThreads is { } w && window > 0 ? Math.Round(w.WakeUps / window) : null,
                RelayPreemptionsPerSecond = relayThreads is { } q && window > 0 ? Math.Round(q.Preemptions / window) : null,
                RelayIdleRssBytes = idleRss,
                RelayThreads = threadsInWindow,
                RelayIdleThreads = idleThreads,
                JoinP50Ms = Round(Percentile(joins, 0.50)),
                JoinP99Ms = Round(Percentile(joins, 0.99)),
                AdmitToFirstPacketP50Ms = Round(Percentile(admits, 0.50)),
                AdmitToFirstPacketP99Ms = Round(Percentile(admits, 0.99)),
                RelayForwardedCounter = relayForwarded,
                Nodes = nodes,
                SessionsUp = live.Count(s => s.Up),
                SessionsFailed = live.Count(s => !s.Up),
                Churn = options.Churn,
                ChurnEverySeconds = options.Churn > 0 ? options.ChurnEvery.TotalSeconds : null,
                SessionsEnded = _sessionsEnded,
                SessionsWithoutMedia = withoutMedia,
                SessionsStartedByChurn = _sessionsStarted,
                SessionEndFailures = _endFailures,
                RelayIdleOpenFds = idleFds,
                WindowStartSeconds = Math.Round(windowStart, 2),
                Soak = options.Churn > 0 ? SoakAnalysis.Analyze(series, windowStart, window, lossRatio) : null,
                TracksExpected = tracksExpected,
                TracksReceived = tracksReceived,
                SetupSeconds = Math.Round(setupSeconds, 2),
                WarmupSeconds = options.Warmup.TotalSeconds,
                Simulcast = options.Simulcast,
                GeneratorCpuSeconds = Math.Round(after.GeneratorCpu - before.GeneratorCpu, 3),
                GeneratorReceiveThreads = clientSockets.ReceiveThreads,
                GeneratorDatagramsPerWakeUp = wakeUps > 0 ? Math.Round((double)datagrams / wakeUps, 2) : null,
                Flood = floodReport,
                Machine = MachineDescription(),
                StartedAt = startedAt,
                Errors = _errors.Distinct().Take(20).ToList(),
                Series = series,
            };
        }
        finally
        {
            await samplerStop.CancelAsync().ConfigureAwait(false);
            await sampler.ConfigureAwait(false);
            foreach (var session in Live())
            {
                session.Dispose();
            }

            if (!options.Quiet && !Console.IsErrorRedirected)
            {
                progress.WriteLine();
            }
        }
    }

    /// <summary>
    /// Starts <c>--flood</c> at the relay's media port, aimed by the first session's publish answer (its UDP and TCP
    /// candidates, a real ufrag); null without the option or without a session up.
    /// </summary>
    private Task<FloodReport>? StartFlood(CancellationToken cancellationToken)
    {
        if (options.Flood is not { } size || target is not TeletherapyTarget { FirstServer: { } server })
        {
            return null;
        }

        var relay = Live().Where(s => s.Up).SelectMany(s => s.Participants).Select(p => p.PublishRelay).FirstOrDefault(r => r is not null);
        if (relay is null || !relay.TryGetEndpoint(IceTransportProtocol.Udp, out var udp))
        {
            return null;
        }

        relay.TryGetEndpoint(IceTransportProtocol.Tcp, out var tcp);
        _phase = "flood";
        var flood = new MediaFlood(size, options.FloodRate, server, udp!, tcp, relay.IceUfrag);
        return Task.Run(async () =>
        {
            var report = await flood.RunAsync(cancellationToken).ConfigureAwait(false);
            _phase = "measure";
            return report;
        }, cancellationToken);
    }

    public static string MachineDescription()
    {
        var cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }

        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores, {cpu}, {memory:0} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
    }

    /// <summary>
    /// Of the tracks that should flow in the sessions that are up (every participant's audio and video at every other
    /// participant that listens), how many there are and how many received packets in the measured window.
    /// </summary>
    private (int Expected, int Received) TracksInWindow(Dictionary<LoadSession, long[]> before)
    {
        var expected = 0;
        var received = 0;
        foreach (var session in Live().Where(s => s.Up))
        {
            // A session set up during the window (churn) had received nothing before it.
            var after = session.ReceivedTracks(listenersOnly: true);
            var start = before.GetValueOrDefault(session) ?? new long[after.Length];
            expected += after.Length;
            received += after.Where((count, track) => count > start[track]).Count();
        }

        return (expected, received);
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 3) : null;

    /// <summary>The sum, or null when there is nothing to sum or any part is unknown.</summary>
    private static double? SumOrNull(IEnumerable<double?> values)
    {
        double? sum = null;
        foreach (var value in values)
        {
            if (value is not { } v)
            {
                return null;
            }

            sum = (sum ?? 0) + v;
        }

        return sum;
    }

    private static double? Percentile(List<double> values, double quantile)
    {
        if (values.Count == 0)
        {
            return null;
        }

        values.Sort();
        return values[Math.Clamp((int)Math.Ceiling(quantile * values.Count) - 1, 0, values.Count - 1)];
    }

    private async Task SetUpAsync(LoadSession session, Pacer pacer, SemaphoreSlim gate, CancellationToken cancellationToken)
    {
        try
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await target.SetUpSessionAsync(session, pacer, cancellationToken).ConfigureAwait(false);
                session.Up = true;
                Interlocked.Increment(ref _sessionsUp);
            }
            finally
            {
                gate.Release();
            }
        }
        catch (Exception exception)
        {
            session.Error = exception is OperationCanceledException ? "setup timed out" : exception.Message;
            lock (_errors)
            {
                _errors.Add($"session {session.Index}: {session.Error}");
            }
        }
    }

    private async Task TearDownAsync(LoadSession session, CancellationToken cancellationToken)
    {
        try
        {
            await target.TearDownSessionAsync(session, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Teardown is best effort: the relay is stopped afterwards anyway.
        }
    }

    /// <param name="threads">Also read the relay's threads (<see cref="ProcessMonitor.ThreadSamples"/>): at the window's ends, not every second.</param>
    private Totals Snapshot(bool threads = false)
    {
        long sent;
        long expected;
        long received;
        lock (_sessionsLock)
        {
            (sent, expected, received) = _ended;
            foreach (var session in _sessions)
            {
                var (s, e, r) = Count(session);
                sent += s;
                expected += e;
                received += r;
            }
        }

        var relayCpu = target.Relay?.CpuSeconds();
        return new Totals(_clock.Elapsed.TotalSeconds, sent, expected, received, relayCpu?.User + relayCpu?.System, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds)
        {
            RelaySystemCpu = relayCpu?.System,
            RelayThreadSamples = threads ? target.Relay?.ThreadSamples() : null,
        };
    }

    private async Task SampleLoopAsync(CancellationToken cancellationToken)
    {
        var previous = Snapshot();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = Snapshot();
                var dt = Math.Max(0.001, now.Time - previous.Time);

                // A soak also reads the managed heap from the server's /metrics (once a second costs it little).
                var nodes = options.Churn > 0 ? await target.ReadNodesAsync(cancellationToken).ConfigureAwait(false) : [];
                var heap = SumOrNull(nodes.Select(n => n.GcHeapBytes));
                var heapAfterFull = SumOrNull(nodes.Select(n => n.GcHeapAfterFullBytes));
                var packets = now.Received - previous.Received;
                var second = _stats.Second.Snapshot(reset: true);
                var expected = now.Expected - previous.Expected;
                var sample = new Sample(
                    Math.Round(now.Time, 2),
                    _phase,
                    Volatile.Read(ref _sessionsUp),
                    Math.Round((now.Sent - previous.Sent) / dt, 1),
                    Math.Round((now.Received - previous.Received) / dt, 1),
                    expected <= 0 ? 0 : Math.Round(Math.Clamp(1 - ((double)(now.Received - previous.Received) / expected), 0, 1), 6),
                    Round(LatencyHistogram.Quantile(second, 0.50)),
                    Round(LatencyHistogram.Quantile(second, 0.99)),
                    now.RelayCpu is { } a && previous.RelayCpu is { } b ? Math.Round(100 * (a - b) / dt, 1) : null,
                    target.Relay?.RssBytes(),
                    Math.Round(100 * (now.GeneratorCpu - previous.GeneratorCpu) / dt, 1))
                {
                    RelayThreads = target.Relay?.Threads(),
                    RelayOpenFds = target.Relay?.OpenFileDescriptors(),
                    RelayGcHeapBytes = heap is { } h ? (long)h : null,
                    RelayGcHeapAfterFullBytes = heapAfterFull is { } f ? (long)f : null,
                    RelayCpuMicrosPerPacket = now.RelayCpu is { } x && previous.RelayCpu is { } y && packets > 0 ? Math.Round((x - y) * 1e6 / packets, 2) : null,
                    SessionsEnded = Volatile.Read(ref _sessionsEnded),
                    SessionsWithoutMedia = Live().Count(s => s.Up && !s.HasMedia),
                    LoadAverage = ProcessMonitor.LoadAverage(),
                };
                _series.Add(sample);
                previous = now;
                if (!options.Quiet)
                {
                    WriteProgress(sample);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void WriteProgress(Sample s)
    {
        var cpu = s.RelayCpuPercent is { } c ? string.Create(CultureInfo.InvariantCulture, $"{c,5:0}%") : "    ?";
        var latency = s.LatencyP50Ms is { } p ? string.Create(CultureInfo.InvariantCulture, $"{p:0.00}/{s.LatencyP99Ms:0.00} ms") : "-";
        var line = string.Create(CultureInfo.InvariantCulture,
            $"[{s.T,5:0}s {s.Phase,-8}] sessions up {s.SessionsUp,4}/{options.Sessions}  sent {s.SentPerSecond,8:0}/s  recv {s.ReceivedPerSecond,8:0}/s  loss {100 * s.LossRatio,6:0.00}%  p50/p99 {latency}  relay CPU {cpu}  gen CPU {s.GeneratorCpuPercent,4:0}%");
        if (Console.IsErrorRedirected)
        {
            progress.WriteLine(line);
        }
        else
        {
            progress.Write("\r" + line + "   ");
        }
    }

    /// <summary>The sessions not ended by churn: those set up (or failed) and still running.</summary>
    private List<LoadSession> Live()
    {
        lock (_sessionsLock)
        {
            return [.. _sessions];
        }
    }

    /// <summary>What a session's participants sent, were expected to receive and received.</summary>
    private static (long Sent, long Expected, long Received) Count(LoadSession session)
    {
        long sent = 0;
        long expected = 0;
        long received = 0;
        foreach (var participant in session.Participants)
        {
            sent += participant.PacketsSent;
            if (!participant.Listens)
            {
                continue;
            }

            var (e, r) = participant.ReceiveTotals(session.Participants);
            expected += e;
            received += r;
        }

        return (sent, expected, received);
    }

    private LoadSession NewSession(int i, MediaSet media, ClientSockets clientSockets)
    {
        // --listeners: the therapist is the first, contact k the (k + 2)th.
        var listeners = options.Listeners ?? options.Participants;
        var contacts = Enumerable.Range(0, options.Participants - 1)
            .Select(k => clientSockets.NewParticipant(k == 0 ? $"p{i}" : $"p{i}.{k}", media, _stats, options.Simulcast, listens: k + 2 <= listeners))
            .ToList();
        return new LoadSession(i, clientSockets.NewParticipant($"t{i}", media, _stats, options.Simulcast), contacts);
    }

    /// <summary>
    /// Every <see cref="LoadOptions.ChurnEvery"/> until <paramref name="stop"/>: the <see cref="LoadOptions.Churn"/>
    /// oldest sessions up end (<see cref="EndAsync"/>), then as many new ones (new patients and appointments) are set up.
    /// </summary>
    private async Task ChurnAsync(MediaSet media, Pacer pacer, ClientSockets clientSockets, CancellationToken stop, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.ChurnEvery);
        var next = options.Sessions;
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var ending = Live().Where(s => s.Up).Take(options.Churn).ToList();
                await Task.WhenAll(ending.Select(s => EndAsync(s, pacer, cancellationToken))).ConfigureAwait(false);
                var fresh = ending.Select(_ => NewSession(next++, media, clientSockets)).ToList();
                lock (_sessionsLock)
                {
                    _sessions.AddRange(fresh);
                }

                Interlocked.Add(ref _sessionsStarted, fresh.Count);
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(TimeSpan.FromSeconds(30 + (0.3 * fresh.Count * (options.Participants - 1))));
                using var gate = new SemaphoreSlim(Math.Max(1, SetupConcurrency / (options.Participants - 1)));
                await Task.WhenAll(fresh.Select(s => SetUpAsync(s, pacer, gate, deadline.Token))).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Ends a session as people do: its media stops, what it received is counted once the packets in flight arrived,
    /// then the contacts leave and the therapist ends the session (the hub's End session), and its connections close.
    /// </summary>
    private async Task EndAsync(LoadSession session, Pacer pacer, CancellationToken cancellationToken)
    {
        foreach (var participant in session.Participants)
        {
            participant.StopSending();
        }

        await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        lock (_sessionsLock)
        {
            var (s, e, r) = Count(session);
            _ended = (_ended.Sent + s, _ended.Expected + e, _ended.Received + r);
            _sessions.Remove(session);
            _endedJoinMs.AddRange(session.JoinMs);
            if (session.AdmitToFirstPacketMs is { } admit)
            {
                _endedAdmitMs.Add(admit);
            }
        }

        session.Up = false;
        Interlocked.Decrement(ref _sessionsUp);
        try
        {
            await target.EndSessionAsync(session, cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _sessionsEnded);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _endFailures);
            lock (_errors)
            {
                _errors.Add($"session {session.Index}: ending: {exception.Message}");
            }
        }

        foreach (var participant in session.Participants)
        {
            pacer.Remove(participant);
        }

        session.Dispose();
    }

    private sealed record Totals(double Time, long Sent, long Expected, long Received, double? RelayCpu, double GeneratorCpu)
    {
        /// <summary>The part of <see cref="RelayCpu"/> spent in the kernel (stime); null for a relay the tool did not start.</summary>
        public double? RelaySystemCpu { get; init; }

        /// <summary>The relay's threads, when asked for (the window's ends) and the tool started the relay.</summary>
        public IReadOnlyList<ThreadSample>? RelayThreadSamples { get; init; }
    }
}
