namespace Teletherapy.LoadTests;

/// <summary>One resource of the relay, judged from the end of warm-up to the end of a soak.</summary>
/// <param name="Name">What is measured, e.g. "relay RSS".</param>
/// <param name="Unit">The unit of <paramref name="Start"/> and <paramref name="End"/>.</param>
/// <param name="Start">Its mean over the span that ends at the end of warm-up (minute 4 to 5 of 30).</param>
/// <param name="End">Its mean over the last span of the window (minute 29 to 30 of 30).</param>
/// <param name="GrowthPercent">
/// Growth over the judged part of the window: the least-squares line through every second's value from the end of
/// warm-up to the end, 100 × (its value at the end − its value at the end of warm-up) / the latter (see
/// <see cref="TrendStart"/>); null when unknown or the start is 0.
/// </param>
/// <param name="Pass">Growth below <see cref="SoakAnalysis.MaxGrowthPercent"/> (a fall passes); null when unknown.</param>
/// <param name="Judged">
/// Whether the verdict rests on it. The managed heap in use is shown but not judged: it is mostly the young generation
/// filling between collections, so a minute's mean says where that minute fell in the cycle; the heap after the latest
/// full collection (what survived) is judged in its place. The relay's CPU per forwarded packet is shown but not
/// judged: on a shared virtual machine what a packet costs moves by ±10 % over minutes for every process alike (a
/// wake-up costs what the host makes it cost), so the verdict takes the relay's CPU against the load generator's,
/// measured on the same cores over the same seconds for the same packets, which moves with the machine but not with
/// the relay's state.
/// </param>
internal sealed record SoakMetric(string Name, string Unit, double? Start, double? End, double? GrowthPercent, bool? Pass, bool Judged = true)
{
    /// <summary>
    /// The fitted line's value at the end of warm-up. Minute means of a count near 20 (threads) move by a whole 5 % with
    /// one thread pool worker, and those of memory with where collections fall; a leak moves the whole line.
    /// </summary>
    public double? TrendStart { get; init; }

    /// <summary>The fitted line's value at the end of the window.</summary>
    public double? TrendEnd { get; init; }
}

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
    double? RelayCpuOverGeneratorCpu,
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
/// Judges a soak from its per-second samples. Warm-up ends at a sixth of the window (minute 5 of 30). Growth is read
/// from the least-squares line through every second after warm-up, so that neither a single second (a collection, a
/// session being set up) nor a single minute (one more pool thread, a young generation about to be collected) decides;
/// each end's mean over a thirtieth of the window (one minute of 30) is reported beside it. CPU per packet in a span is
/// the CPU of the span over its packets, not a mean of per-second ratios; its line is fitted through per-second values
/// weighted by their packets.
/// </summary>
internal static class SoakAnalysis
{
    /// <summary>The goal: no resource grows by this much from the end of warm-up to the end.</summary>
    public const double MaxGrowthPercent = 5;

    /// <summary>
    /// The relay's CPU over the load generator's, second by second (its line weighted by the generator's CPU, so a
    /// span's value is the ratio of the two processes' CPU summed over it). The generator sends, receives and checks
    /// every packet the relay forwards, on the same two cores, so both pay the machine's cost of a wake-up and a system
    /// call at that moment; state the relay keeps from ended sessions would raise its side alone.
    /// </summary>
    public const string CpuAgainstGenerator = "relay CPU against the load generator's";

    /// <summary>One second's relay CPU over the generator's (<see cref="CpuAgainstGenerator"/>); null when either is unknown.</summary>
    public static double? RelayCpuOverGeneratorCpu(Sample s) => s.GeneratorCpuPercent > 0 ? s.RelayCpuPercent / s.GeneratorCpuPercent : null;

    /// <summary>
    /// The relay's threads as few as they were in the span before each second (a minute of a 30-minute soak). Each
    /// churn starts handshakes and hub work: the DTLS handshake pool and the thread pool add threads for some seconds
    /// and retire them once idle, by how many depends on the burst. The count the relay comes back to between bursts is
    /// what a leak would raise, so it is judged; the raw count is shown.
    /// </summary>
    public const string ThreadsBetweenBursts = "relay threads between churn bursts";

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
        var judged = In(series, windowStartT, startTo, windowSeconds);
        var threadFloor = new TrailingMinimum(window, span, s => s.RelayThreads);
        double? FloorMean(double from, double to) => Mean(In(series, windowStartT, from, to).Select(threadFloor.Value));
        SoakMetric Judge(string name, string unit, double? start, double? end, Func<Sample, double?> value, Func<Sample, double>? weight = null) =>
            Metric(name, unit, start, end, Trend(judged, windowStartT, startTo, windowSeconds, value, weight ?? (_ => 1)));
        var metrics = new List<SoakMetric>
        {
            Judge("relay RSS", "MiB", first.RelayRssMiB, last.RelayRssMiB, s => s.RelayRssBytes / MiB),
            Judge("relay threads", "threads", first.RelayThreads, last.RelayThreads, s => s.RelayThreads) with { Judged = false },
            Judge(ThreadsBetweenBursts, "threads", FloorMean(startFrom, startTo), FloorMean(endFrom, windowSeconds), threadFloor.Value),
            Judge("relay open file descriptors", "fds", first.RelayOpenFds, last.RelayOpenFds, s => s.RelayOpenFds),
            Judge("relay GC heap after the latest full collection", "MiB", first.RelayGcHeapAfterFullMiB, last.RelayGcHeapAfterFullMiB, s => s.RelayGcHeapAfterFullBytes / MiB),
            Judge("relay GC heap in use", "MiB", first.RelayGcHeapMiB, last.RelayGcHeapMiB, s => s.RelayGcHeapBytes / MiB) with { Judged = false },
            Judge("relay CPU per forwarded packet", "µs", first.RelayCpuMicrosPerPacket, last.RelayCpuMicrosPerPacket, s => s.RelayCpuMicrosPerPacket, s => s.ReceivedPerSecond) with { Judged = false },
            Judge(CpuAgainstGenerator, "×", first.RelayCpuOverGeneratorCpu, last.RelayCpuOverGeneratorCpu, RelayCpuOverGeneratorCpu, s => s.GeneratorCpuPercent),
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

    public static SoakMetric Metric(string name, string unit, double? start, double? end, (double Start, double End)? trend)
    {
        double? growth = trend is var (a, b) && a > 0 ? Math.Round(100 * (b - a) / a, 2) : null;
        return new SoakMetric(name, unit, start, end, growth, growth is { } g ? g < MaxGrowthPercent : null)
        {
            TrendStart = trend is { } t ? Math.Round(t.Start, 3) : null,
            TrendEnd = trend is { } u ? Math.Round(u.End, 3) : null,
        };
    }

    /// <summary>
    /// The weighted least-squares line through the known values of <paramref name="samples"/> against their time, read
    /// at <paramref name="from"/> and <paramref name="to"/> seconds into the window; null with fewer than two distinct times.
    /// </summary>
    public static (double Start, double End)? Trend(IReadOnlyList<Sample> samples, double windowStartT, double from, double to, Func<Sample, double?> value, Func<Sample, double> weight)
    {
        double sw = 0, sx = 0, sy = 0;
        foreach (var s in samples)
        {
            if (value(s) is { } y && weight(s) is var w && w > 0)
            {
                sw += w;
                sx += w * (s.T - windowStartT);
                sy += w * y;
            }
        }

        if (sw == 0)
        {
            return null;
        }

        double mx = sx / sw, my = sy / sw, sxx = 0, sxy = 0;
        foreach (var s in samples)
        {
            if (value(s) is { } y && weight(s) is var w && w > 0)
            {
                var dx = s.T - windowStartT - mx;
                sxx += w * dx * dx;
                sxy += w * dx * (y - my);
            }
        }

        if (sxx <= 0)
        {
            return null;
        }

        var slope = sxy / sxx;
        return (my + (slope * (from - mx)), my + (slope * (to - mx)));
    }

    /// <summary>The samples from <paramref name="from"/> (excluded) to <paramref name="to"/> (included) seconds into the window.</summary>
    private static List<Sample> In(IReadOnlyList<Sample> series, double windowStartT, double from, double to) =>
        [.. series.Where(s => s.T - windowStartT > from && s.T - windowStartT <= to)];

    private static SoakSpan Means(List<Sample> samples, double from, double to)
    {
        var cpu = samples.Where(s => s.RelayCpuPercent.HasValue).ToList();
        var packets = cpu.Sum(s => s.ReceivedPerSecond);
        var generator = cpu.Sum(s => s.GeneratorCpuPercent);
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
            generator > 0 ? Math.Round(cpu.Sum(s => s.RelayCpuPercent!.Value) / generator, 4) : null,
            Mean(samples.Select(s => (double?)(100 * s.LossRatio))),
            Mean(samples.Select(s => s.LoadAverage)));
    }

    /// <summary>Each sample's fewest value over the samples of the <c>span</c> seconds up to it (itself included).</summary>
    private sealed class TrailingMinimum
    {
        private readonly Dictionary<Sample, double?> _values = new(ReferenceEqualityComparer.Instance);

        public TrailingMinimum(List<Sample> window, double span, Func<Sample, int?> value)
        {
            for (var i = 0; i < window.Count; i++)
            {
                double? fewest = null;
                var t = window[i].T;
                for (var j = i; j >= 0 && window[j].T > t - span; j--)
                {
                    if (value(window[j]) is { } v && (fewest is null || v < fewest))
                    {
                        fewest = v;
                    }
                }

                _values[window[i]] = fewest;
            }
        }

        /// <summary>The trailing minimum; null for a sample outside the window or with no value in its span.</summary>
        public double? Value(Sample sample) => _values.GetValueOrDefault(sample);
    }

    private static double? Mean(IEnumerable<double?> values)
    {
        var known = values.Where(v => v.HasValue).Select(v => v!.Value).ToList();
        return known.Count > 0 ? Math.Round(known.Average(), 3) : null;
    }
}
