using Teletherapy.LoadTests.Targets;

namespace Teletherapy.LoadTests.Tests;

/// <summary>
/// A flood at the media port of our server (a process of its own) while ten real sessions send media through it: random
/// datagrams, STUN checks with wrong credentials, DTLS ClientHellos from addresses that did no ICE check, and ICE-TCP
/// connections that never speak, from other loopback addresses. A smaller flood than the reliability note's
/// (<c>--flood full</c>), the same kinds.
/// </summary>
[Collection(LoadRuns.Name)]
public sealed class MediaPortFloodTests
{
    private static readonly FloodSize Size = new(Datagrams: 10_000, StunChecks: 2_000, ClientHellos: 300, TcpConnections: 20);

    [Fact]
    public async Task TenSessionsKeepTheirMediaAndTheServerCountsEveryFloodPacketUnderItsKind()
    {
        var output = Directory.CreateTempSubdirectory("load-test-flood-").FullName;

        // The managed heap figure (GC.GetTotalMemory) counts garbage not yet collected; with the default gen0 budget,
        // which the runtime sizes from the CPU cache (tens of MB on some machines), a flood's garbage can wait well past
        // the measured window. A 4 MB budget for the server (its process inherits this) makes the figure after the flood
        // what is still live, which is what this test asks about.
        var gen0Size = Environment.GetEnvironmentVariable(Gen0Size);
        Environment.SetEnvironmentVariable(Gen0Size, "0x400000");
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
            var cache = Path.Combine(Path.GetTempPath(), "teletherapy-load-media");
            Assert.True(LoadOptions.TryParse(
                [
                    "--sessions", "10", "--duration", "2s", "--warmup", "2s", "--setup-timeout", "40s", "--out", output,
                    "--server-dll", ServerBuild.Dll(), "--media-cache", cache, "--quiet",
                    "--flood", $"{Size.Datagrams},{Size.StunChecks},{Size.ClientHellos},{Size.TcpConnections}", "--flood-rate", "10000",
                ],
                out var options,
                out var error), error);
            LoadReport report;
            var target = new TeletherapyTarget(options!);
            await using (target.ConfigureAwait(false))
            {
                report = await new LoadRunner(options!, target, TextWriter.Null).RunAsync(timeout.Token);
            }

            Assert.True(report.SessionsUp == 10, string.Join("; ", report.Errors));
            var flood = Assert.IsType<FloodReport>(report.Flood);

            // The sessions: loss from what the publishers sent against what the subscribers received, over the window
            // that holds the whole flood.
            Assert.True(report.DurationSeconds >= flood.FloodSeconds, "the measured window covers the flood");
            Assert.True(report.LossRatio < 0.001, $"loss {report.LossRatio:P3} during the flood");
            Assert.Equal(report.TracksExpected, report.TracksReceived);

            // Each kind under its own reason, every packet of it: garbage from strangers, checks with wrong credentials
            // (half naming no transport, half a real one with a wrong password), handshakes that followed no check.
            Assert.Equal(Size.Datagrams, flood.DroppedByReason.GetValueOrDefault("unknown-remote"));
            Assert.Equal(Size.StunChecks, flood.DroppedByReason.GetValueOrDefault("stun-rejected"));
            Assert.Equal(Size.ClientHellos, flood.DroppedByReason.GetValueOrDefault("dtls-before-ice"));
            Assert.Equal(Size.TcpConnections, flood.TcpClosedByServer);
            Assert.Equal(Size.TcpConnections, flood.TcpIdleClosed);
            Assert.DoesNotContain("malformed", flood.DroppedByReason.Keys);

            // The server answered its health check all along.
            Assert.True(flood.HealthChecks > 20, $"{flood.HealthChecks} health checks");
            Assert.Equal(0, flood.HealthChecksFailed);

            // Memory: nothing of the flood is kept. A few seconds after it, the managed heap and resident memory are back
            // near where they were before (the flood's datagrams alone are some 7 MB; held, they would show).
            Assert.True(flood.HeapAfterBytes - flood.HeapBeforeBytes < 8L << 20, $"managed heap {flood.HeapBeforeBytes} before, {flood.HeapAfterBytes} after");
            Assert.True(flood.RssAfterBytes - flood.RssBeforeBytes < 32L << 20, $"RSS {flood.RssBeforeBytes} before, {flood.RssAfterBytes} after");
        }
        finally
        {
            Environment.SetEnvironmentVariable(Gen0Size, gen0Size);
            Directory.Delete(output, recursive: true);
        }
    }

    private const string Gen0Size = "DOTNET_GCgen0size";
}
