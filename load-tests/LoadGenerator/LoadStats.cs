namespace Teletherapy.LoadTests;

/// <summary>What every receive thread records into: transit latencies for the measured window and for the current second.</summary>
internal sealed class LoadStats
{
    private volatile bool _measuring;

    /// <summary>Latencies of the measured window (recorded only while <see cref="Measuring"/>).</summary>
    public LatencyHistogram Window { get; } = new();

    /// <summary>Latencies since the sampler last took them (one second).</summary>
    public LatencyHistogram Second { get; } = new();

    public bool Measuring
    {
        get => _measuring;
        set => _measuring = value;
    }

    public void RecordLatency(double micros)
    {
        Second.Record(micros);
        if (_measuring)
        {
            Window.Record(micros);
        }
    }
}

/// <summary>One second of the run, for the live line and the charts.</summary>
internal sealed record Sample(
    double T,
    string Phase,
    int SessionsUp,
    double SentPerSecond,
    double ReceivedPerSecond,
    double LossRatio,
    double? LatencyP50Ms,
    double? LatencyP99Ms,
    double? RelayCpuPercent,
    long? RelayRssBytes,
    double GeneratorCpuPercent);
