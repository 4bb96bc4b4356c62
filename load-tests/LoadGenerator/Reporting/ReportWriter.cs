using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ScottPlot;

namespace Teletherapy.LoadTests.Reporting;

/// <summary>Writes report.json, report.html (charts over time as embedded SVG) and the summary table.</summary>
internal static class ReportWriter
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static async Task WriteAsync(LoadReport report, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.json"), JsonSerializer.Serialize(report, Json), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.html"), Html(report), cancellationToken).ConfigureAwait(false);
    }

    public static string SummaryTable(LoadReport r)
    {
        var rows = Rows(r);
        var width = rows.Max(x => x.Name.Length);
        var text = new StringBuilder();
        text.AppendLine(new string('-', width + 30));
        foreach (var (name, value) in rows)
        {
            text.Append(name.PadRight(width)).Append("  ").AppendLine(value);
        }

        text.Append(new string('-', width + 30));
        return text.ToString();
    }

    /// <summary>The summary's rows: the totals, then one row per server node when the run had several.</summary>
    private static List<(string Name, string Value)> Rows(LoadReport r)
    {
        var rows = new List<(string Name, string Value)>
        {
            ("target", r.Target + (r.Simulcast ? " (simulcast)" : string.Empty)),
            ("sessions up / asked", $"{r.SessionsUp} / {r.Sessions}" + (r.SessionsWithoutMedia > 0 ? $" ({r.SessionsWithoutMedia} up without media: a transport closed)" : string.Empty)),
            ("participants per session", r.Participants.ToString(CultureInfo.InvariantCulture)),
            ("tracks receiving / expected", $"{r.TracksReceived} / {r.TracksExpected}"),
            ("measured window", F(r.DurationSeconds, "0.0") + " s" + (r.SendTickMs is { } tick ? $" (sent on {F(tick, "0.#")} ms ticks)" : string.Empty)),
            ("packets sent", r.PacketsSent.ToString("N0", CultureInfo.InvariantCulture)),
            r.Listeners is not null
                ? ("packets forwarded (the relay's count)", r.ForwardedPackets.ToString("N0", CultureInfo.InvariantCulture))
                : ("packets received (forwarded)", r.ForwardedPackets.ToString("N0", CultureInfo.InvariantCulture)),
            ("packets expected", r.PacketsExpected.ToString("N0", CultureInfo.InvariantCulture)
                + (r.Listeners is { } l ? $" (received by the {l} listening in each session: {r.PacketsReceived.ToString("N0", CultureInfo.InvariantCulture)})" : string.Empty)),
            ("loss", F(100 * r.LossRatio, "0.000") + " %"),
            ("transit latency p50 / p99", $"{F(r.LatencyP50Ms, "0.00")} / {F(r.LatencyP99Ms, "0.00")} ms"),
            ("relay CPU", $"{F(r.RelayCpuSeconds, "0.00")} s ({F(r.RelayCpuPercent, "0")} % of one core)"),
            ("relay CPU per forwarded packet", F(r.CpuMicrosPerForwardedPacket, "0.0") + " µs" + (r.KernelCpuMicrosPerForwardedPacket is { } kernel ? $" ({F(kernel, "0.0")} µs of it in the kernel)" : "")),
            ("forwarded packets per CPU-second", F(r.ForwardedPacketsPerCpuSecond, "N0")),
            ("relay busiest thread", r.RelayBusiestThread is { } busiest
                ? $"{busiest}: {F(r.RelayBusiestThreadCpuMicrosPerForwardedPacket, "0.0")} µs a packet, {F(100 * r.RelayBusiestThreadShare, "0")} % of its threads' time"
                : "?"),
            ("relay wake-ups / preemptions", $"{F(r.RelayWakeUpsPerSecond, "N0")} / {F(r.RelayPreemptionsPerSecond, "N0")} a second"),
            ("relay peak RSS", r.RelayPeakRssBytes is { } rss ? F(rss / (1024.0 * 1024), "0.0") + " MiB" : "?"),
            ("relay idle RSS / per session", $"{Mebibytes(r.RelayIdleRssBytes, "0.0")} / {Mebibytes(r.RelayBytesPerSession, "0.00")}"),
            ("relay threads idle / in window", $"{r.RelayIdleThreads?.ToString(CultureInfo.InvariantCulture) ?? "?"} / {r.RelayThreads?.ToString(CultureInfo.InvariantCulture) ?? "?"}"),
            ("join p50 / p99", $"{F(r.JoinP50Ms, "0.0")} / {F(r.JoinP99Ms, "0.0")} ms"),
            ("admit → first packet p50 / p99", $"{F(r.AdmitToFirstPacketP50Ms, "0.0")} / {F(r.AdmitToFirstPacketP99Ms, "0.0")} ms"),
            ("setup", F(r.SetupSeconds, "0.0") + " s"),
            ("load generator CPU", F(r.GeneratorCpuSeconds, "0.00") + " s" + (r.GeneratorReceiveThreads > 0
                ? $" ({r.GeneratorReceiveThreads} receive threads, {F(r.GeneratorDatagramsPerWakeUp, "0.0")} datagrams a wake-up)"
                : " (a receive thread per connection)")),
        };
        if (r.Churn > 0)
        {
            rows.Add(("churn", $"{r.Churn} sessions every {F(r.ChurnEverySeconds, "0")} s: {r.SessionsEnded} ended, {r.SessionsStartedByChurn} started, {r.SessionEndFailures} ends failed"));
        }

        if (r.Soak is { } soak)
        {
            var from = $"{F(soak.StartFromSeconds / 60, "0.#")}–{F(soak.StartToSeconds / 60, "0.#")}";
            var to = $"{F(soak.EndFromSeconds / 60, "0.#")}–{F(soak.EndToSeconds / 60, "0.#")}";
            foreach (var m in soak.Metrics)
            {
                rows.Add(($"{m.Name}, minute {F(soak.StartToSeconds / 60, "0.#")} → {F(soak.EndToSeconds / 60, "0.#")}", $"line {F(m.TrendStart, "0.##")} → {F(m.TrendEnd, "0.##")} {m.Unit}: {F(m.GrowthPercent, "+0.00;-0.00")} %; minute means {from} / {to}: {F(m.Start, "0.##")} / {F(m.End, "0.##")} ({(!m.Judged ? "shown, not judged" : m.Pass is { } p ? (p ? "pass" : "FAIL") : "unknown")})"));
            }

            rows.Add(("soak loss", $"{F(100 * soak.LossRatio, "0.0000")} % ({(soak.LossPass ? "pass" : "FAIL")})"));
            rows.Add(("load average (1 min) mean / max", $"{F(soak.LoadAverageMean, "0.0")} / {F(soak.LoadAverageMax, "0.0")}"));
            rows.Add(("soak verdict", (soak.Pass ? "PASS" : "FAIL") + $": every judged figure's line under +{F(soak.MaxGrowthPercent, "0")} % from the end of warm-up to the end and loss under {F(100 * SoakAnalysis.MaxLossRatio, "0.##")} %"));
        }

        if (r.Nodes.Count > 1)
        {
            foreach (var node in r.Nodes)
            {
                rows.Add(("node " + node.Server, NodeSummary(node)));
            }
        }

        if (r.Flood is { } f)
        {
            static string MiB(long? bytes) => F(bytes / (1024.0 * 1024), "0.0");
            rows.Add(("flood sent", $"{f.Sent.Datagrams:N0} datagrams, {f.Sent.StunChecks:N0} checks, {f.Sent.ClientHellos:N0} ClientHellos, {f.Sent.TcpConnections} silent connections"));
            rows.Add(("flood drops by reason", string.Join(", ", f.DroppedByReason.Select(d => $"{d.Key} {d.Value:N0}")) + $"; idle-timeout closes {f.TcpIdleClosed}"));
            rows.Add(("flood /healthz", $"{f.HealthChecks - f.HealthChecksFailed} of {f.HealthChecks} answered, slowest {F(f.HealthCheckMaxMs, "0.0")} ms"));
            rows.Add(("flood RSS before / peak / after", $"{MiB(f.RssBeforeBytes)} / {MiB(f.RssPeakBytes)} / {MiB(f.RssAfterBytes)} MiB"));
            rows.Add(("flood heap before / peak / after", $"{MiB(f.HeapBeforeBytes)} / {MiB(f.HeapPeakBytes)} / {MiB(f.HeapAfterBytes)} MiB"));
        }

        return rows;
    }

    /// <summary>"21 sessions, CPU 3.20 s (32 % of one core), 12,345 forwarded".</summary>
    public static string NodeSummary(NodeReport node) =>
        $"{(node.SessionsCarried is { } s ? s.ToString(CultureInfo.InvariantCulture) : "?")} sessions, "
        + $"CPU {F(node.CpuSeconds, "0.00")} s ({F(node.CpuPercent, "0")} % of one core), "
        + $"{(node.ForwardedPackets is { } f ? f.ToString("N0", CultureInfo.InvariantCulture) : "?")} forwarded";

    private static string F(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "?";

    private static string Html(LoadReport r)
    {
        var t = r.Series.Select(s => s.T).ToArray();
        var charts = new List<(string Title, string Svg)>
        {
            ("Packets per second", Chart(t, "packets/s", ("sent", r.Series.Select(s => s.SentPerSecond)), ("received", r.Series.Select(s => s.ReceivedPerSecond)))),
            ("Loss", Chart(t, "loss %", ("loss", r.Series.Select(s => 100 * s.LossRatio)))),
            ("Relay transit latency", Chart(t, "ms", ("p50", r.Series.Select(s => s.LatencyP50Ms ?? double.NaN)), ("p99", r.Series.Select(s => s.LatencyP99Ms ?? double.NaN)))),
            ("CPU", Chart(t, "% of one core", ("relay", r.Series.Select(s => s.RelayCpuPercent ?? double.NaN)), ("load generator", r.Series.Select(s => s.GeneratorCpuPercent)))),
            ("Sessions up and relay memory", Chart(t, "sessions / MiB", ("sessions up", r.Series.Select(s => (double)s.SessionsUp)), ("relay RSS MiB", r.Series.Select(s => s.RelayRssBytes is { } b ? b / (1024.0 * 1024) : double.NaN)))),
        };
        if (r.Churn > 0)
        {
            charts.AddRange(
            [
                ("Sessions up and ended (churn)", Chart(t, "sessions", ("sessions up", r.Series.Select(s => (double)s.SessionsUp)), ("ended so far", r.Series.Select(s => (double)s.SessionsEnded)), ("up without media", r.Series.Select(s => (double)s.SessionsWithoutMedia)))),
                ("Relay memory: RSS and GC heap", Chart(t, "MiB", ("RSS", r.Series.Select(s => s.RelayRssBytes is { } b ? b / (1024.0 * 1024) : double.NaN)), ("GC heap in use", r.Series.Select(s => s.RelayGcHeapBytes is { } h ? h / (1024.0 * 1024) : double.NaN)), ("GC heap after the latest full collection", r.Series.Select(s => s.RelayGcHeapAfterFullBytes is { } h && h > 0 ? h / (1024.0 * 1024) : double.NaN)))),
                ("Relay threads and open file descriptors", Chart(t, "count", ("threads", r.Series.Select(s => s.RelayThreads is { } n ? (double)n : double.NaN)), ("open fds", r.Series.Select(s => s.RelayOpenFds is { } f ? (double)f : double.NaN)))),
                ("Relay CPU per forwarded packet", Chart(t, "µs", ("per second", r.Series.Select(s => s.RelayCpuMicrosPerPacket ?? double.NaN)))),
                ("Relay CPU against the load generator's (same cores, same packets)", Chart(t, "relay CPU / generator CPU", ("per second", r.Series.Select(s => SoakAnalysis.RelayCpuOverGeneratorCpu(s) ?? double.NaN)))),
                ("Machine load average (1 min)", Chart(t, "load", ("load average", r.Series.Select(s => s.LoadAverage ?? double.NaN)))),
            ]);
        }

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Load test: ")
            .Append(WebUtility.HtmlEncode(r.Target)).Append(", ").Append(Title(r)).Append("</title>")
            .Append("<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}svg{max-width:100%;height:auto}</style></head><body>");
        html.Append("<h1>Load test: ").Append(WebUtility.HtmlEncode(r.Target)).Append(", ").Append(Title(r)).Append("</h1>");
        html.Append("<p>").Append(WebUtility.HtmlEncode(r.Machine)).Append(" — started ").Append(r.StartedAt.ToString("u", CultureInfo.InvariantCulture)).Append("</p>");
        html.Append("<table>");
        foreach (var (name, value) in Rows(r))
        {
            html.Append("<tr><th>").Append(WebUtility.HtmlEncode(name)).Append("</th><td>").Append(WebUtility.HtmlEncode(value)).Append("</td></tr>");
        }

        html.Append("</table>");
        if (r.Errors.Count > 0)
        {
            html.Append("<h2>Errors</h2><ul>");
            foreach (var error in r.Errors)
            {
                html.Append("<li>").Append(WebUtility.HtmlEncode(error)).Append("</li>");
            }

            html.Append("</ul>");
        }

        foreach (var (title, svg) in charts)
        {
            html.Append("<h2>").Append(WebUtility.HtmlEncode(title)).Append("</h2>").Append(svg);
        }

        html.Append("<p>The shaded band is the measured window. Raw numbers: report.json.</p></body></html>");
        return html.ToString();
    }

    /// <summary>"20 sessions", or "5 sessions of 8 participants" for group sessions.</summary>
    private static string Title(LoadReport r) =>
        $"{r.Sessions} sessions" + (r.Participants > 2 ? $" of {r.Participants} participants" : string.Empty);

    private static string Chart(double[] t, string yLabel, params (string Name, IEnumerable<double> Values)[] series)
    {
        var plot = new Plot();
        foreach (var (name, values) in series)
        {
            var ys = values.ToArray();
            if (t.Length == 0)
            {
                continue;
            }

            var line = plot.Add.Scatter(t, ys);
            line.LegendText = name;
            line.MarkerSize = 0;
            line.LineWidth = 2;
        }

        plot.XLabel("seconds since start");
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperLeft);
        return plot.GetSvgXml(900, 320);
    }

    private static string Mebibytes(long? bytes, string format) =>
        bytes is { } b ? (b / (1024.0 * 1024)).ToString(format, CultureInfo.InvariantCulture) + " MiB" : "?";
}
