namespace Teletherapy.LoadTests;

/// <summary>
/// Transit latencies in 10 µs buckets up to 500 ms (later ones count in the last bucket). Recording is lock-free
/// (one atomic increment), so every receive thread can record into the same histogram.
/// </summary>
internal sealed class LatencyHistogram
{
    public const double BucketMicros = 10;
    private const int Buckets = 50_000;
    private readonly long[] _counts = new long[Buckets];

    public void Record(double micros)
    {
        var index = micros <= 0 ? 0 : (int)Math.Min(Buckets - 1, micros / BucketMicros);
        Interlocked.Increment(ref _counts[index]);
    }

    /// <summary>A copy of the counts; with <paramref name="reset"/> the histogram starts again from zero.</summary>
    public long[] Snapshot(bool reset)
    {
        var copy = new long[Buckets];
        for (var i = 0; i < Buckets; i++)
        {
            copy[i] = reset ? Interlocked.Exchange(ref _counts[i], 0) : Volatile.Read(ref _counts[i]);
        }

        return copy;
    }

    /// <summary>The <paramref name="quantile"/> (0–1) of a snapshot in milliseconds (bucket middle); null when empty.</summary>
    public static double? Quantile(long[] counts, double quantile)
    {
        long total = 0;
        foreach (var c in counts)
        {
            total += c;
        }

        if (total == 0)
        {
            return null;
        }

        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= Math.Max(1, rank))
            {
                return (i + 0.5) * BucketMicros / 1000.0;
            }
        }

        return (counts.Length - 0.5) * BucketMicros / 1000.0;
    }
}
