using System.Diagnostics;
using System.Globalization;

namespace Teletherapy.LoadTests.Targets;

/// <summary>
/// One node's <c>GET /metrics</c> at one moment. Each node counts only itself: the rooms whose home it is (the session
/// coordinator of a node holds only the rooms placed on it), its own process CPU and what its own relay forwarded.
/// Null values were missing from the scrape (or the scrape failed).
/// </summary>
internal sealed record NodeReading(Uri Server, long Timestamp, double? SessionsActive, double? CpuSeconds, double? ForwardedPackets)
{
    /// <summary>prometheus-net's .NET collector: the managed heap in use (GC.GetTotalMemory(false)).</summary>
    public const string GcHeapName = "dotnet_total_memory_bytes";

    /// <summary>The server's own: bytes in objects when the latest full collection ended (what survived it).</summary>
    public const string GcHeapAfterFullName = "teletherapy_gc_heap_after_full_collection_bytes";

    /// <summary>Rooms homed on the node with at least one participant connected (through any node's hub).</summary>
    public const string SessionsActiveName = "teletherapy_sessions_active";

    /// <summary>prometheus-net's process collector: user plus system CPU seconds of the whole process.</summary>
    public const string CpuSecondsName = "process_cpu_seconds_total";

    public const string ForwardedName = "teletherapy_relay_packets_forwarded_total";

    /// <summary>The node's managed heap in use (null when the scrape had none).</summary>
    public double? GcHeapBytes { get; init; }

    /// <summary>The node's managed heap after its latest full collection (null when the scrape had none).</summary>
    public double? GcHeapAfterFullBytes { get; init; }
}

/// <summary>Reads the few series of a node's Prometheus text exposition the report needs.</summary>
internal static class NodeMetrics
{
    public static async Task<NodeReading> ReadAsync(HttpClient http, Uri server, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await http.GetStringAsync(new Uri(server, "/metrics"), cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return new NodeReading(server, Stopwatch.GetTimestamp(), null, null, null);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new NodeReading(server, Stopwatch.GetTimestamp(), null, null, null);
        }

        return Parse(server, Stopwatch.GetTimestamp(), text);
    }

    /// <summary>Sums every labelled series of each metric; a metric that does not appear is null.</summary>
    public static NodeReading Parse(Uri server, long timestamp, string text)
    {
        double? sessions = null;
        double? cpu = null;
        double? forwarded = null;
        double? heap = null;
        double? heapAfterFull = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (TryValue(line, NodeReading.SessionsActiveName, out var value))
            {
                sessions = (sessions ?? 0) + value;
            }
            else if (TryValue(line, NodeReading.CpuSecondsName, out value))
            {
                cpu = (cpu ?? 0) + value;
            }
            else if (TryValue(line, NodeReading.ForwardedName, out value))
            {
                forwarded = (forwarded ?? 0) + value;
            }
            else if (TryValue(line, NodeReading.GcHeapName, out value))
            {
                heap = (heap ?? 0) + value;
            }
            else if (TryValue(line, NodeReading.GcHeapAfterFullName, out value))
            {
                heapAfterFull = (heapAfterFull ?? 0) + value;
            }
        }

        return new NodeReading(server, timestamp, sessions, cpu, forwarded) { GcHeapBytes = heap, GcHeapAfterFullBytes = heapAfterFull };
    }

    /// <summary>
    /// <c>name value</c> or <c>name{labels} value</c>, optionally followed by a timestamp; a longer name that merely starts
    /// with <paramref name="name"/> is another metric.
    /// </summary>
    private static bool TryValue(string line, string name, out double value)
    {
        value = 0;
        if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length == name.Length)
        {
            return false;
        }

        var rest = line[name.Length..];
        if (rest[0] == '{')
        {
            var close = rest.LastIndexOf('}');
            if (close < 0)
            {
                return false;
            }

            rest = rest[(close + 1)..];
        }
        else if (rest[0] != ' ')
        {
            return false;
        }

        var fields = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
