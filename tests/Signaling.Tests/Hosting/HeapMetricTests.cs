using System.Globalization;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>
/// The managed heap is the test process's own, shared by every test: this one runs alone, or what the tests beside it
/// allocate between its two full collections moves the figure it measures.
/// </summary>
[CollectionDefinition(nameof(HeapMetricTests), DisableParallelization = true)]
public sealed class HeapMetricCollection;

[Collection(nameof(HeapMetricTests))]
public sealed class HeapMetricTests : IDisposable
{
    private readonly TestServer _server = new();

    [Fact]
    public async Task Metrics_expose_the_heap_that_full_collections_leave()
    {
        using var client = _server.CreateClient();

        // 96 MiB kept alive through a full collection shows in the gauge; once let go, the next full collection drops it.
        var kept = new byte[96 << 20];
        kept[^1] = 1;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var withArray = await HeapAfterFullCollectionAsync(client);
        GC.KeepAlive(kept);
        kept = null;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var without = await HeapAfterFullCollectionAsync(client);

        Assert.True(withArray >= 96 << 20, $"{withArray} bytes after a full collection that kept a 96 MiB array");
        Assert.True(withArray - without >= 64 << 20, $"{withArray} → {without} bytes once the array was let go");
        Assert.True(without > 0);
    }

    private static async Task<double> HeapAfterFullCollectionAsync(HttpClient client)
    {
        var text = await client.GetStringAsync("/metrics");
        Assert.Contains("# TYPE teletherapy_gc_heap_after_full_collection_bytes gauge", text, StringComparison.Ordinal);
        var line = Assert.Single(text.Split('\n'), l => l.StartsWith("teletherapy_gc_heap_after_full_collection_bytes ", StringComparison.Ordinal));
        return double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    public void Dispose() => _server.Dispose();
}
