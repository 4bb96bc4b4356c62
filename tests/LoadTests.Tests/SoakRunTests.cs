using System.Text.Json;
using Teletherapy.LoadTests.Reporting;
using Teletherapy.LoadTests.Targets;

namespace Teletherapy.LoadTests.Tests;

/// <summary>A short soak against our server: two sessions for a minute, one ended and replaced every 25 s.</summary>
[Collection(LoadRuns.Name)]
public sealed class SoakRunTests
{
    [Fact]
    public async Task ChurnEndsSessionsAndStartsNewOnesAndTheReportJudgesGrowth()
    {
        var output = Directory.CreateTempSubdirectory("load-test-soak-").FullName;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
            var cache = Path.Combine(Path.GetTempPath(), "teletherapy-load-media");
            Assert.True(LoadOptions.TryParse(
                ["--sessions", "2", "--churn", "1", "--churn-every", "25s", "--duration", "60s", "--setup-timeout", "30s", "--warmup", "0",
                    "--out", output, "--server-dll", ServerBuild.Dll(), "--media-cache", cache, "--quiet"],
                out var options, out var error), error);
            LoadReport report;
            var target = new TeletherapyTarget(options!);
            await using (target.ConfigureAwait(false))
            {
                report = await new LoadRunner(options!, target, TextWriter.Null).RunAsync(timeout.Token);
            }

            await ReportWriter.WriteAsync(report, output, timeout.Token);

            // At 25 s and 50 s the oldest session ended through the hub (End session accepted) and a new one came up.
            Assert.True(report.SessionEndFailures == 0 && report.SessionsFailed == 0, string.Join("; ", report.Errors));
            Assert.Equal(2, report.SessionsEnded);
            Assert.Equal(2, report.SessionsStartedByChurn);
            Assert.Equal(2, report.SessionsUp);
            Assert.Equal(0, report.SessionsWithoutMedia);
            Assert.Equal(2 * 2 * 2, report.TracksReceived);
            Assert.InRange(report.LossRatio, 0, 0.05);

            // The server carried no more rooms than the sessions up: the ended ones were closed, not left open
            // (the one started at 50 s may still be coming up).
            Assert.InRange(Assert.Single(report.Nodes).SessionsCarried!.Value, 1, 2);

            // Every second of the window has the new figures, read from the relay's /proc and /metrics.
            var window = report.Series.Where(s => s.Phase == "measure").ToList();
            Assert.True(window.Count >= 50, $"{window.Count} samples in the window");
            Assert.All(window, s =>
            {
                Assert.InRange(s.RelayThreads!.Value, 2, 1000);
                Assert.InRange(s.RelayOpenFds!.Value, 3, 100_000);
                Assert.InRange(s.RelayGcHeapBytes!.Value, 1L << 20, 8L << 30);
                Assert.InRange(s.RelayGcHeapAfterFullBytes!.Value, 0, 8L << 30);
            });
            Assert.Contains(window, s => s.RelayCpuMicrosPerPacket > 0);
            Assert.All(window, s => Assert.Equal(0, s.SessionsWithoutMedia));
            Assert.Equal(0, window[0].SessionsEnded);
            Assert.Equal(2, report.Series[^1].SessionsEnded);

            // The verdict covers every figure; each is known, so the growth is computed.
            var soak = Assert.IsType<SoakReport>(report.Soak);
            Assert.Equal(
                ["relay RSS", "relay threads", SoakAnalysis.ThreadsBetweenBursts, "relay open file descriptors", "relay GC heap after the latest full collection", "relay GC heap in use", "relay CPU per forwarded packet", "relay CPU against the load generator's"],
                soak.Metrics.Select(m => m.Name));
            // The heap after full collections has no growth figure only when no full collection had run by the end of
            // the start span (10 s of a one-minute soak): it reads 0 there, and the line through the window starts at or
            // below 0 (below when the first full collection came inside the window). Every other figure must have one.
            Assert.All(soak.Metrics, m => Assert.True(m.GrowthPercent is not null || (m.Name.Contains("after the latest full", StringComparison.Ordinal) && m.Start == 0 && m.TrendStart <= 0), $"{m.Name} has no growth"));
            Assert.Equal(["relay threads", "relay GC heap in use", "relay CPU per forwarded packet"], soak.Metrics.Where(m => !m.Judged).Select(m => m.Name));
            // Warm-up ends at a sixth of the window as measured (60 s asked; a loaded machine makes it a little longer).
            Assert.InRange(report.DurationSeconds, 59.5, 62);
            Assert.Equal(Math.Round(report.DurationSeconds / 6, 1), soak.StartToSeconds, 1);

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "report.json"), timeout.Token));
            var root = json.RootElement;
            Assert.Equal(2, root.GetProperty("sessionsEnded").GetInt32());
            Assert.Equal(8, root.GetProperty("soak").GetProperty("metrics").GetArrayLength());
            var sample = root.GetProperty("series")[0];
            foreach (var field in new[] { "relayThreads", "relayOpenFds", "relayGcHeapBytes", "relayGcHeapAfterFullBytes", "relayCpuMicrosPerPacket", "sessionsEnded", "sessionsWithoutMedia", "loadAverage" })
            {
                Assert.True(sample.TryGetProperty(field, out _), $"a sample lacks {field}");
            }

            var html = await File.ReadAllTextAsync(Path.Combine(output, "report.html"), timeout.Token);
            Assert.Contains("Relay threads and open file descriptors", html, StringComparison.Ordinal);
            Assert.Contains("soak verdict", html, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
