namespace Teletherapy.LoadTests;

/// <summary>One resource of the relay, judged from the end of warm-up to the end of a soak.</summary>
/// <param name="Name">What is measured, e.g. "relay RSS".</param>
/// <param name="Unit">The unit of <paramref name="Start"/> and <paramref name="End"/>.</param>
/// <param name="Start">Its mean over the span that ends at the end of warm-up (minute 4 to 5 of 30).</param>
/// <param name="End">Its mean over the last span of the window (minute 29 to 30 of 30).</param>
/// <param name="GrowthPercent">100 × (end − start) / start; null when either is unknown or start is 0.</param>
/// <param name="Pass">Growth below <see cref="SoakAnalysis.MaxGrowthPercent"/> (a fall passes); null when unknown.</param>
/// <param name="Judged">
/// Whether the verdict rests on it. The managed heap in use is shown but not judged: it is mostly the young generation
/// filling between collections, so a minute's mean says where that minute fell in the cycle; the heap after the latest
/// full collection (what survived) is judged in its place.
/// </param>
internal sealed record SoakMetric(string Name, string Unit, double? Start, double? End, double? GrowthPercent, bool? Pass, bool Judged = true);

/// <summary>One span of the soak (a minute of a 30-minute window): the means of its samples.</summary>
internal sealed record SoakSpan(
    double FromSeconds,
    double ToSeconds,
    double? SessionsUp,
    double? RelayRssMiB,
    double? RelayThreads,
    double? RelayOpenFds,
    double? RelayGcHeapMiB,
    double? RelayGcHeapAfterFullMiB,
    double? RelayCpuMicrosPerPacket,
    double? LossPercent,
    double? LoadAverage);

/// <summary>
/// The soak's verdict in report.json: growth of each resource from the end of warm-up to the end, loss, and the
/// span by span means behind them. Times are seconds from the start of the measured window.
/// </summary>
internal sealed record SoakReport
{
    public required double StartFromSeconds { get; init; }

    public required double StartToSeconds { get; init; }

    public required double EndFromSeconds { get; init; }

    public required double EndToSeconds { get; init; }

    public required IReadOnlyList<SoakMetric> Metrics { get; init; }

    /// <summary>Loss over the whole measured window.</summary>
    public required double LossRatio { get; init; }

    public required bool LossPass { get; init; }

    /// <summary>Every judged metric known and below the growth limit, and no loss.</summary>
    public required bool Pass { get; init; }

    public double MaxGrowthPercent { get; init; } = SoakAnalysis.MaxGrowthPercent;

    /// <summary>The machine's 1-minute load average over the window: mean and highest.</summary>
    public double? LoadAverageMean { get; init; }

    public double? LoadAverageMax { get; init; }

    /// <summary>The window cut into 30 spans (minutes of a 30-minute soak).</summary>
    public IReadOnlyList<SoakSpan> Spans { get; init; } = [];
}

/// <summary>
/// Judges a soak from its per-second samples. Warm-up ends at a sixth of the window (minute 5 of 30); each end is the
/// mean over a thirtieth of the window (one minute of 30) so that a single second (a collection, a session being set
/// up) does not decide. CPU per packet is the CPU of the span over its packets, not a mean of per-second ratios.
/// </summary>
internal static class SoakAnalysis
{
    /// <summary>The goal: no resource grows by this much from the end of warm-up to the end.</summary>
    public const double MaxGrowthPercent = 5;

    /// <summary>"No loss": below one packet in 10,000 (what is in flight at the window's edges).</summary>
    public const double MaxLossRatio = 0.0001;

    private const double MiB = 1024.0 * 1024;

    public static SoakReport Analyze(IReadOnlyList<Sample> series, double windowStartT, double windowSeconds, double lossRatio)
    {
        var span = Math.Max(1, windowSeconds / 30);
        var startTo = windowSeconds / 6;
        var startFrom = Math.Max(0, startTo - span);
        var endFrom = windowSeconds - span;
        var window = In(series, windowStartT, 0, windowSeconds);
        var first = Means(In(series, windowStartT, startFrom, startTo), startFrom, startTo);
        var last = Means(In(series, windowStartT, endFrom, windowSeconds), endFrom, windowSeconds);
        var metrics = new List<SoakMetric>
        {
            Metric("relay RSS", "MiB", first.RelayRssMiB, last.RelayRssMiB),
            Metric("relay threads", "threads", first.RelayThreads, last.RelayThreads),
            Metric("relay open file descriptors", "fds", first.RelayOpenFds, last.RelayOpenFds),
            Metric("relay GC heap after the latest full collection", "MiB", first.RelayGcHeapAfterFullMiB, last.RelayGcHeapAfterFullMiB),
            Metric("relay GC heap in use", "MiB", first.RelayGcHeapMiB, last.RelayGcHeapMiB) with { Judged = false },
            Metric("relay CPU per forwarded packet", "µs", first.RelayCpuMicrosPerPacket, last.RelayCpuMicrosPerPacket),
        };
        var lossPass = lossRatio <= MaxLossRatio;
        var loads = window.Where(s => s.LoadAverage.HasValue).Select(s => s.LoadAverage!.Value).ToList();
        return new SoakReport
        {
            StartFromSeconds = Math.Round(startFrom, 1),
            StartToSeconds = Math.Round(startTo, 1),
            EndFromSeconds = Math.Round(endFrom, 1),
            EndToSeconds = Math.Round(windowSeconds, 1),
            Metrics = metrics,
            LossRatio = lossRatio,
            LossPass = lossPass,
            Pass = lossPass && metrics.Where(m => m.Judged).All(m => m.Pass == true),
            LoadAverageMean = loads.Count > 0 ? Math.Round(loads.Average(), 2) : null,
            LoadAverageMax = loads.Count > 0 ? loads.Max() : null,
            Spans = [.. Enumerable.Range(0, 30).Select(i => Means(In(series, windowStartT, i * windowSeconds / 30, (i + 1) * windowSeconds / 30), i * windowSeconds / 30, (i + 1) * windowSeconds / 30))],
        };
    }

    public static SoakMetric Metric(string name, string unit, double? start, double? end)
    {
        double? growth = start is { } a && end is { } b && a > 0 ? Math.Round(100 * (b - a) / a, 2) : null;
        return new SoakMetric(name, unit, start, end, growth, growth is { } g ? g < MaxGrowthPercent : null);
    }

    /// <summary>The samples from <paramref name="from"/> (excluded) to <paramref name="to"/> (included) seconds into the window.</summary>
    private static List<Sample> In(IReadOnlyList<Sample> series, double windowStartT, double from, double to) =>
        [.. series.Where(s => s.T - windowStartT > from && s.T - windowStartT <= to)];

    private static SoakSpan Means(List<Sample> samples, double from, double to)
    {
        var cpu = samples.Where(s => s.RelayCpuPercent.HasValue).ToList();
        var packets = cpu.Sum(s => s.ReceivedPerSecond);
        return new SoakSpan(
            Math.Round(from, 1),
            Math.Round(to, 1),
            Mean(samples.Select(s => (double?)s.SessionsUp)),
            Mean(samples.Select(s => s.RelayRssBytes / MiB)),
            Mean(samples.Select(s => (double?)s.RelayThreads)),
            Mean(samples.Select(s => (double?)s.RelayOpenFds)),
            Mean(samples.Select(s => s.RelayGcHeapBytes / MiB)),
            Mean(samples.Select(s => s.RelayGcHeapAfterFullBytes / MiB)),
            packets > 0 ? Math.Round(cpu.Sum(s => s.RelayCpuPercent!.Value) / 100 * 1e6 / packets, 2) : null,
            Mean(samples.Select(s => (double?)(100 * s.LossRatio))),
            Mean(samples.Select(s => s.LoadAverage)));
    }

    private static double? Mean(IEnumerable<double?> values)
    {
        var known = values.Where(v => v.HasValue).Select(v => v!.Value).ToList();
        return known.Count > 0 ? Math.Round(known.Average(), 3) : null;
    }
}
