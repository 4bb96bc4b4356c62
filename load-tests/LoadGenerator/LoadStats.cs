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
    double GeneratorCpuPercent)
{
    /// <summary>The relay's threads (/proc/PID/task).</summary>
    public int? RelayThreads { get; init; }

    /// <summary>The relay's open file descriptors (/proc/PID/fd): sockets, files, epoll and event handles.</summary>
    public int? RelayOpenFds { get; init; }

    /// <summary>The relay's managed heap in use, from its /metrics (<c>dotnet_total_memory_bytes</c>, GC.GetTotalMemory).</summary>
    public long? RelayGcHeapBytes { get; init; }

    /// <summary>
    /// The relay's managed heap when its latest full collection ended (<c>teletherapy_gc_heap_after_full_collection_bytes</c>):
    /// what survived, without the young objects of the moment; 0 before the first full collection.
    /// </summary>
    public long? RelayGcHeapAfterFullBytes { get; init; }

    /// <summary>Relay CPU over the second divided by the packets received (forwarded) in it, in µs.</summary>
    public double? RelayCpuMicrosPerPacket { get; init; }

    /// <summary>Sessions ended by churn so far (the therapist's End session after the contacts left).</summary>
    public int SessionsEnded { get; init; }

    /// <summary>Sessions up whose media stopped: a participant's transport closed (see <see cref="LoadSession.HasMedia"/>).</summary>
    public int SessionsWithoutMedia { get; init; }

    /// <summary>The machine's 1-minute load average (/proc/loadavg).</summary>
    public double? LoadAverage { get; init; }
}
