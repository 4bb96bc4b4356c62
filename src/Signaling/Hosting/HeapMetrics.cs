using Prometheus;

namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// <c>teletherapy_gc_heap_after_full_collection_bytes</c>: the bytes in objects that the latest full collection
/// (blocking or background) left on the managed heap. prometheus-net's <c>dotnet_total_memory_bytes</c> also counts
/// what was allocated since the last collection, so it rises and falls with each young-generation cycle; this one moves
/// only when a full collection finds more (or less) alive, which is what a leak changes. 0 before the first.
/// </summary>
internal static class HeapMetrics
{
    private static readonly Gauge AfterFullCollection = Metrics.CreateGauge(
        "teletherapy_gc_heap_after_full_collection_bytes",
        "Bytes in objects on the managed heap when the latest full (blocking or background) collection ended; 0 before the first.");

    private static int _published;

    public static void Publish()
    {
        if (Interlocked.Exchange(ref _published, 1) == 0)
        {
            Metrics.DefaultRegistry.AddBeforeCollectCallback(() => AfterFullCollection.Set(LatestFullCollectionBytes()));
        }
    }

    /// <summary>Heap size minus fragmentation after the newer of the last blocking and the last background full collection.</summary>
    internal static long LatestFullCollectionBytes()
    {
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var latest = background.Index > blocking.Index ? background : blocking;
        return latest.Index == 0 ? 0 : Math.Max(0, latest.HeapSizeBytes - latest.FragmentedBytes);
    }
}
