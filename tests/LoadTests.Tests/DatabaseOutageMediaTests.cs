using System.Net;
using Teletherapy.LoadTests.Targets;
using Teletherapy.Signaling.Tests.Hosting;
using Xunit.Abstractions;

namespace Teletherapy.LoadTests.Tests;

/// <summary>
/// PostgreSQL stops under our server (a process of its own on a throwaway cluster) while real sessions send media
/// through it: ICE, DTLS and SRTP to the relay and back, all in memory, so the sessions lose nothing while the server
/// answers its health check 503, and go on after the database is back.
/// </summary>
[Collection(LoadRuns.Name)]
public sealed class DatabaseOutageMediaTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task SessionsInProgressKeepTheirMediaWhilePostgreSqlIsStopped()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var reportFolder = Directory.CreateTempSubdirectory("load-test-db-outage-").FullName;
        await using var postgres = await ThrowawayPostgres.StartAsync();
        var server = await TeletherapyServer.StartAsync(ServerBuild.Dll(), new ServerLaunch
        {
            HealthyWithin = TimeSpan.FromSeconds(120),
            Settings = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = postgres.ConnectionString },
        }, timeout.Token);
        try
        {
            var cache = Path.Combine(Path.GetTempPath(), "teletherapy-load-media");
            Assert.True(LoadOptions.TryParse(
                [
                    "--server", server.BaseUrl.ToString(), "--api-key", server.ApiKey, "--outbox", server.OutboxPath,
                    "--sessions", "6", "--duration", "16s", "--warmup", "2s", "--setup-timeout", "60s",
                    "--out", reportFolder, "--media-cache", cache, "--quiet",
                ],
                out var options,
                out var error), error);

            using var http = new HttpClient { BaseAddress = server.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };
            LoadReport report;
            var target = new TeletherapyTarget(options!);
            await using (target.ConfigureAwait(false))
            {
                var runner = new LoadRunner(options!, target, TextWriter.Null);
                var run = runner.RunAsync(timeout.Token);
                await Task.WhenAny(runner.Measuring, run);
                Assert.True(runner.Measuring.IsCompleted, "the run ended before its measured window");

                // The outage, inside the measured window: the server knows (its health check says so), media does not.
                await postgres.StopAsync();
                var healthDuring = await HealthAsync(http);
                await Task.Delay(Outage, timeout.Token);
                var healthLate = await HealthAsync(http);
                await postgres.StartAgainAsync();
                report = await run;
                output.WriteLine($"health during the outage: {healthDuring}, {healthLate}; after: {await HealthAsync(http)}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, healthDuring);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, healthLate);
            }

            output.WriteLine(Reporting.ReportWriter.SummaryTable(report) + "\n" + string.Join("\n", report.Errors));
            Assert.True(report.SessionsUp == 6, string.Join("; ", report.Errors));
            Assert.True(report.DurationSeconds > Outage.TotalSeconds + 2, "the measured window holds the outage");
            Assert.Equal(report.TracksExpected, report.TracksReceived);
            Assert.True(report.LossRatio < 0.001, $"loss {report.LossRatio:P3} across the outage");
            Assert.Equal(HttpStatusCode.OK, await HealthAsync(http));
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(reportFolder, recursive: true);
        }
    }

    private static async Task<HttpStatusCode> HealthAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("healthz", UriKind.Relative));
        return response.StatusCode;
    }
}
