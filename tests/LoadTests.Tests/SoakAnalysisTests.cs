namespace Teletherapy.LoadTests.Tests;

/// <summary>The soak's growth figures and verdict, from synthetic per-second samples.</summary>
public sealed class SoakAnalysisTests
{
    private const double MiB = 1024 * 1024;

    [Fact]
    public void FlatResourcesAfterWarmUpPassWithZeroGrowth()
    {
        // A 30-minute window starting 40 s into the run; memory climbs during the first two minutes (warm-up), then holds.
        var series = Series(40, 1800, t => Resources(rssMiB: t < 120 ? 100 + (t / 2) : 160, threads: 30, fds: 200, heapMiB: 40, cpuPercent: 30, packetsPerSecond: 10_000));

        var soak = SoakAnalysis.Analyze(series, 40, 1800, lossRatio: 0);

        Assert.Equal(240, soak.StartFromSeconds);
        Assert.Equal(300, soak.StartToSeconds);
        Assert.Equal(1740, soak.EndFromSeconds);
        Assert.Equal(1800, soak.EndToSeconds);
        Assert.All(soak.Metrics, m => Assert.Equal(0, m.GrowthPercent));
        Assert.All(soak.Metrics, m => Assert.True(m.Pass));
        Assert.Equal(160, Metric(soak, "relay RSS").Start);
        Assert.Equal(30, Metric(soak, "relay CPU per forwarded packet").End); // 0.3 CPU-s / 10,000 packets
        Assert.True(soak.Pass);
        Assert.Equal(30, soak.Spans.Count);
        Assert.Equal(115.25, soak.Spans[0].RelayRssMiB); // minute 1: the mean of 100.5 … 130 MiB
        Assert.Equal(160, soak.Spans[29].RelayRssMiB);
    }

    [Fact]
    public void GrowthIsReadFromTheLineThroughEverySecondAfterWarmUp()
    {
        // After warm-up (300 s): descriptors climb steadily by 10 %, the heap after full collections falls by 20 %, CPU
        // per packet climbs by exactly 5 %; threads hold at 20 but for one more in the last minute, and RSS swings
        // ±10 MiB each minute.
        static double After(double t) => Math.Max(0, t - 300) / 1500;
        var series = Series(0, 1800, t => Resources(
            rssMiB: 200 + (Math.Floor(t / 60) % 2 == 0 ? 10 : -10),
            threads: t > 1740 ? 21 : 20,
            fds: 100 + (10 * After(t)),
            heapMiB: 40,
            cpuPercent: 20 + After(t),
            packetsPerSecond: 10_000,
            heapAfterFullMiB: 50 - (10 * After(t))));

        var soak = SoakAnalysis.Analyze(series, 0, 1800, lossRatio: 0);

        var fds = Metric(soak, "relay open file descriptors");
        // (a count: each second's value is the climb rounded down, so the line sits half a descriptor lower)
        Assert.InRange(fds.GrowthPercent!.Value, 9.5, 10.5);
        Assert.InRange(fds.TrendStart!.Value, 99, 100);
        Assert.InRange(fds.TrendEnd!.Value, 109, 110);
        Assert.False(fds.Pass);
        Assert.Equal(-20, Metric(soak, AfterFull).GrowthPercent!.Value, 1);
        Assert.True(Metric(soak, AfterFull).Pass);
        var cpu = Metric(soak, "relay CPU per forwarded packet");
        Assert.Equal(5, cpu.GrowthPercent!.Value, 1); // 20 → 21 µs: 5 % is not under 5 %
        Assert.False(cpu.Pass);
        // The generator's CPU held at 50 % while the relay's rose: the relay's own cost grew, which the verdict judges.
        var relayAgainstGenerator = Metric(soak, SoakAnalysis.CpuAgainstGenerator);
        Assert.Equal(5, relayAgainstGenerator.GrowthPercent!.Value, 1);
        Assert.False(relayAgainstGenerator.Pass);
        Assert.True(relayAgainstGenerator.Judged);

        // One more thread in the last minute is +5 % between the two minutes' means, but barely moves the line.
        var threads = Metric(soak, SoakAnalysis.ThreadsBetweenBursts);
        Assert.Equal(20, threads.Start);
        Assert.InRange(threads.End!.Value, 20, 21);
        Assert.InRange(threads.GrowthPercent!.Value, 0, 2);
        Assert.True(threads.Pass);
        Assert.Equal(21, Metric(soak, "relay threads").End);

        // Minute 5 (241–300 s) falls on a high swing, minute 30 (1741–1800 s) on a low one: −9 % between their means;
        // the line is flat.
        var rss = Metric(soak, "relay RSS");
        Assert.Equal(209.67, rss.Start!.Value, 2);
        Assert.Equal(190.33, rss.End!.Value, 2);
        Assert.InRange(rss.GrowthPercent!.Value, -1, 1);
        Assert.True(rss.Pass);
        Assert.False(soak.Pass);

        // A steady climb fails whatever the minute means say.
        var climbing = Series(0, 1800, t => Resources(200 + (12 * After(t)), 20, 100, 40, 20, 10_000));
        var climb = Metric(SoakAnalysis.Analyze(climbing, 0, 1800, lossRatio: 0), "relay RSS");
        Assert.Equal(6, climb.GrowthPercent!.Value, 1);
        Assert.False(climb.Pass);
    }

    [Fact]
    public void LossOrAnUnknownFigureFailsTheSoak()
    {
        var flat = Series(0, 60, _ => Resources(100, 10, 50, 20, 10, 1000));

        var lossy = SoakAnalysis.Analyze(flat, 0, 60, lossRatio: 0.001);
        Assert.All(lossy.Metrics, m => Assert.True(m.Pass));
        Assert.False(lossy.LossPass);
        Assert.False(lossy.Pass);

        // A short window scales: warm-up ends at a sixth (10 s), each end is a thirtieth (2 s).
        Assert.Equal(8, lossy.StartFromSeconds);
        Assert.Equal(10, lossy.StartToSeconds);
        Assert.Equal(58, lossy.EndFromSeconds);

        var noHeap = SoakAnalysis.Analyze([.. flat.Select(s => s with { RelayGcHeapAfterFullBytes = null })], 0, 60, lossRatio: 0);
        Assert.Null(Metric(noHeap, AfterFull).GrowthPercent);
        Assert.Null(Metric(noHeap, AfterFull).Pass);
        Assert.True(noHeap.LossPass);
        Assert.False(noHeap.Pass);
    }

    [Fact]
    public void TheHeapInUseIsShownButTheVerdictRestsOnTheHeapAfterFullCollections()
    {
        // The heap in use climbs from 30 to 45 MiB (young objects) while what full collections leave holds at 20 MiB:
        // shown as +50 %, not judged, and the soak passes.
        var swinging = Series(0, 1800, t => Resources(200, 20, 100, heapMiB: 30 + (15 * Math.Max(0, t - 300) / 1500), 20, 10_000, heapAfterFullMiB: 20));
        var soak = SoakAnalysis.Analyze(swinging, 0, 1800, lossRatio: 0);
        var inUse = Metric(soak, InUse);
        Assert.Equal(50, inUse.GrowthPercent!.Value, 1);
        Assert.False(inUse.Pass);
        Assert.False(inUse.Judged);
        Assert.Equal(0, Metric(soak, AfterFull).GrowthPercent);
        Assert.True(Metric(soak, AfterFull).Judged);
        Assert.True(soak.Pass);
        Assert.Equal(20, soak.Spans[29].RelayGcHeapAfterFullMiB);

        // What survives full collections grows by 10 %: that fails, as would an unknown heap in use not.
        var leaking = Series(0, 1800, t => Resources(200, 20, 100, heapMiB: 40, 20, 10_000, heapAfterFullMiB: 20 + (2 * Math.Max(0, t - 300) / 1500)));
        var leak = SoakAnalysis.Analyze([.. leaking.Select(s => s with { RelayGcHeapBytes = null })], 0, 60 * 30, lossRatio: 0);
        Assert.Equal(10, Metric(leak, AfterFull).GrowthPercent!.Value, 1);
        Assert.False(Metric(leak, AfterFull).Pass);
        Assert.Null(Metric(leak, InUse).Pass);
        Assert.False(leak.Pass);
    }

    [Fact]
    public void CpuPerPacketThatRisesForBothProcessesAlikeIsTheMachineAndPasses()
    {
        // Minutes 9–30 every packet costs 9 % more for the relay and the load generator alike (the host's wake-ups
        // got dearer): the relay's CPU per packet grows by 9 % and is shown; against the generator's it is flat, and
        // that is what the verdict judges.
        static double Cost(double t) => t > 540 ? 1.09 : 1.0;
        var machine = Series(0, 1800, t => Resources(200, 20, 100, 40, cpuPercent: 20 * Cost(t), 10_000, generatorCpuPercent: 25 * Cost(t)));
        var soak = SoakAnalysis.Analyze(machine, 0, 1800, lossRatio: 0);

        var raw = Metric(soak, "relay CPU per forwarded packet");
        Assert.InRange(raw.GrowthPercent!.Value, 6, 12);
        Assert.False(raw.Judged);
        var ratio = Metric(soak, SoakAnalysis.CpuAgainstGenerator);
        Assert.Equal(0, ratio.GrowthPercent!.Value, 2);
        Assert.Equal(0.8, ratio.Start!.Value, 3);
        Assert.Equal(0.8, soak.Spans[29].RelayCpuOverGeneratorCpu!.Value, 3);
        Assert.True(soak.Pass);

        // The same rise in the relay alone fails it; a generator with no CPU figure makes it unknown, and so a fail.
        var relayOnly = Series(0, 1800, t => Resources(200, 20, 100, 40, cpuPercent: 20 * Cost(t), 10_000, generatorCpuPercent: 25));
        var relay = SoakAnalysis.Analyze(relayOnly, 0, 1800, lossRatio: 0);
        Assert.InRange(Metric(relay, SoakAnalysis.CpuAgainstGenerator).GrowthPercent!.Value, 6, 12);
        Assert.False(relay.Pass);
        var unknown = SoakAnalysis.Analyze([.. machine.Select(s => s with { GeneratorCpuPercent = 0 })], 0, 1800, lossRatio: 0);
        Assert.Null(Metric(unknown, SoakAnalysis.CpuAgainstGenerator).Pass);
        Assert.False(unknown.Pass);
    }

    [Fact]
    public void ThreadsAddedForEachChurnBurstAndRetiredAreNotGrowthButARisingFloorIs()
    {
        // Each minute's churn adds threads for its first 10 s (handshakes, pool workers), more of them in minutes
        // 21–24; between bursts the relay is back at 20. The raw count's line rises (shown); the floor is flat (judged).
        static double Bursts(double t) => t % 60 < 10 ? (t is > 1200 and < 1440 ? 35 : 24) : 20;
        var churning = Series(0, 1800, t => Resources(200, Bursts(t), 100, 40, 20, 10_000));
        var soak = SoakAnalysis.Analyze(churning, 0, 1800, lossRatio: 0);

        var raw = Metric(soak, "relay threads");
        Assert.False(raw.Judged);
        Assert.True(raw.GrowthPercent > 0);
        var floor = Metric(soak, SoakAnalysis.ThreadsBetweenBursts);
        Assert.True(floor.Judged);
        Assert.Equal(0, floor.GrowthPercent!.Value, 2);
        Assert.Equal(20, floor.Start);
        Assert.Equal(20, floor.End);
        Assert.True(soak.Pass);

        // Two threads that stay from minute 15 on (a thread per session never ended, say) raise the floor: that fails.
        var leaking = Series(0, 1800, t => Resources(200, Bursts(t) + (t > 900 ? 2 : 0), 100, 40, 20, 10_000));
        var leak = SoakAnalysis.Analyze(leaking, 0, 1800, lossRatio: 0);
        Assert.InRange(Metric(leak, SoakAnalysis.ThreadsBetweenBursts).GrowthPercent!.Value, 5, 20);
        Assert.False(Metric(leak, SoakAnalysis.ThreadsBetweenBursts).Pass);
        Assert.False(leak.Pass);
    }

    private const string AfterFull = "relay GC heap after the latest full collection";

    private const string InUse = "relay GC heap in use";

    private static SoakMetric Metric(SoakReport soak, string name) => Assert.Single(soak.Metrics, m => m.Name == name);

    /// <summary>One sample a second for <paramref name="seconds"/> after the window starts at <paramref name="windowStart"/>, plus setup before it.</summary>
    private static List<Sample> Series(double windowStart, int seconds, Func<double, Sample> at) =>
        [.. Enumerable.Range(1, (int)windowStart + seconds).Select(i => at(i - windowStart) with { T = i })];

    private static Sample Resources(double rssMiB, double threads, double fds, double heapMiB, double cpuPercent, double packetsPerSecond, double? heapAfterFullMiB = null, double generatorCpuPercent = 50) =>
        new(0, "measure", 30, packetsPerSecond, packetsPerSecond, 0, 0.2, 1.0, cpuPercent, (long)(rssMiB * MiB), generatorCpuPercent)
        {
            RelayThreads = (int)threads,
            RelayOpenFds = (int)fds,
            RelayGcHeapBytes = (long)(heapMiB * MiB),
            RelayGcHeapAfterFullBytes = (long)((heapAfterFullMiB ?? heapMiB) * MiB),
            RelayCpuMicrosPerPacket = cpuPercent / 100 * 1e6 / packetsPerSecond,
            LoadAverage = 2,
        };
}
