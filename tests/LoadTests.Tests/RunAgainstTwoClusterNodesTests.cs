using System.Text.Json;
using Teletherapy.LoadTests.Reporting;
using Teletherapy.LoadTests.Targets;
using Xunit.Abstractions;

namespace Teletherapy.LoadTests.Tests;

/// <summary>
/// The generator against two real cluster nodes (processes of their own on one PostgreSQL database): the sessions'
/// hubs are spread over both, the cluster places the rooms, and the report splits rooms and CPU by node.
/// </summary>
[Collection(LoadRuns.Name)]
public sealed class RunAgainstTwoClusterNodesTests(ITestOutputHelper output)
{
    private const int Sessions = 40;

    [Fact]
    public async Task FortySessionsOverTwoNodesAreCarriedByBothWithoutLoss()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var reportFolder = Directory.CreateTempSubdirectory("load-test-cluster-report-").FullName;
        var cluster = await ClusterNodeProcesses.StartAsync(2, timeout.Token);
        try
        {
            var cache = Path.Combine(Path.GetTempPath(), "teletherapy-load-media");
            Assert.True(LoadOptions.TryParse(
                [
                    "--server", cluster.Nodes[0].BaseUrl.ToString(), "--server", cluster.Nodes[1].BaseUrl.ToString(),
                    "--api-key", cluster.ApiKey, "--outbox", cluster.OutboxPath,
                    "--sessions", Sessions.ToString(System.Globalization.CultureInfo.InvariantCulture), "--duration", "10s",
                    "--warmup", "5s", "--setup-timeout", "180s", "--out", reportFolder, "--media-cache", cache, "--quiet",
                ],
                out var options,
                out var error), error);
            LoadReport report;
            var target = new TeletherapyTarget(options!);
            await using (target.ConfigureAwait(false))
            {
                report = await new LoadRunner(options!, target, TextWriter.Null).RunAsync(timeout.Token);
            }

            await ReportWriter.WriteAsync(report, reportFolder, timeout.Token);
            var summary = ReportWriter.SummaryTable(report) + "\n" + string.Join("\n", report.Errors);
            output.WriteLine(summary);

            Assert.True(report.SessionsUp == Sessions, $"{report.SessionsUp} of {Sessions} sessions up\n{summary}\n{cluster.LogTails()}");
            Assert.True(report.LossRatio < 0.001, $"loss {report.LossRatio:P3}\n{summary}");

            // Both nodes are homes of rooms, and together they carry every session exactly once.
            Assert.Equal(2, report.Nodes.Count);
            Assert.Equal(cluster.Nodes.Select(n => n.BaseUrl.ToString().TrimEnd('/')), report.Nodes.Select(n => n.Server));
            Assert.All(report.Nodes, n => Assert.True(n.SessionsCarried > 0, $"{n.Server} carried no room\n{summary}"));
            Assert.Equal(Sessions, report.Nodes.Sum(n => n.SessionsCarried));
            Assert.All(report.Nodes, n => Assert.True(n.CpuSeconds > 0 && n.CpuPercent > 0, $"{n.Server} has no CPU figure\n{summary}"));
            Assert.All(report.Nodes, n => Assert.True(n.ForwardedPackets > 0, $"{n.Server} forwarded nothing\n{summary}"));

            // The totals are the nodes' sums; the JSON and the text both name each node.
            Assert.Equal(report.Nodes.Sum(n => n.CpuSeconds)!.Value, report.RelayCpuSeconds!.Value, 2);
            Assert.Equal(report.Nodes.Sum(n => n.ForwardedPackets), report.RelayForwardedCounter);
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(reportFolder, "report.json"), timeout.Token));
            var nodes = json.RootElement.GetProperty("nodes");
            Assert.Equal(2, nodes.GetArrayLength());
            Assert.Equal(Sessions, nodes.EnumerateArray().Sum(n => n.GetProperty("sessionsCarried").GetInt32()));
            Assert.All(nodes.EnumerateArray(), n => Assert.True(n.GetProperty("cpuSeconds").GetDouble() > 0));
            foreach (var node in report.Nodes)
            {
                Assert.Contains("node " + node.Server, summary, StringComparison.Ordinal);
            }
        }
        finally
        {
            await cluster.DisposeAsync();
            Directory.Delete(reportFolder, recursive: true);
        }
    }
}
