using System.Diagnostics;
using Teletherapy.LoadTests.Targets;

namespace Teletherapy.LoadTests;

/// <summary>
/// One node of the run in report.json: what it carried and what it cost over the measured window, from its own
/// <c>/metrics</c> read at both ends of the window. With several nodes the placement of rooms is the cluster's, so
/// these are the only figures that say how the load was split.
/// </summary>
internal sealed record NodeReport
{
    public required string Server { get; init; }

    /// <summary>Rooms homed on the node with someone connected, at the end of the window (<c>teletherapy_sessions_active</c>).</summary>
    public required int? SessionsCarried { get; init; }

    /// <summary>The node process's CPU seconds over the window (<c>process_cpu_seconds_total</c>).</summary>
    public required double? CpuSeconds { get; init; }

    /// <summary>Of one core, over the time between the node's two readings.</summary>
    public required double? CpuPercent { get; init; }

    /// <summary>The node's relay counter over the window (<c>teletherapy_relay_packets_forwarded_total</c>).</summary>
    public required long? ForwardedPackets { get; init; }

    public static NodeReport From(NodeReading before, NodeReading after)
    {
        var seconds = Stopwatch.GetElapsedTime(before.Timestamp, after.Timestamp).TotalSeconds;
        var cpu = after.CpuSeconds - before.CpuSeconds;
        return new NodeReport
        {
            Server = after.Server.ToString().TrimEnd('/'),
            SessionsCarried = after.SessionsActive is { } active ? (int)Math.Round(active) : null,
            CpuSeconds = cpu is { } c ? Math.Round(c, 3) : null,
            CpuPercent = cpu is { } p && seconds > 0 ? Math.Round(100 * p / seconds, 1) : null,
            ForwardedPackets = after.ForwardedPackets - before.ForwardedPackets is { } f ? (long)f : null,
        };
    }
}
