using System.Text.Json;
using Teletherapy.LoadTests.Reporting;
using Teletherapy.LoadTests.Targets;

namespace Teletherapy.LoadTests.Tests;

/// <summary>The generator end to end: it starts our server, runs two real sessions (1:1, then groups of four) for 3 s and writes the report.</summary>
[Collection(LoadRuns.Name)]
public sealed class RunAgainstOurServerTests
{
    private static readonly string[] ContractFields =
    [
        "target", "sessions", "durationSeconds", "packetsSent", "packetsReceived", "forwardedPackets", "lossRatio",
        "latencyP50Ms", "latencyP99Ms", "relayCpuSeconds", "cpuMicrosPerForwardedPacket", "relayPeakRssBytes",
        "joinP50Ms", "admitToFirstPacketP50Ms",
    ];

    [Fact]
    public async Task TwoSessionsForThreeSecondsGiveACompleteSaneReport()
    {
        var output = Directory.CreateTempSubdirectory("load-test-report-").FullName;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            var (report, root) = await RunAsync(["--sessions", "2", "--setup-timeout", "20s"], output, timeout.Token);
            foreach (var field in ContractFields)
            {
                Assert.True(root.TryGetProperty(field, out var value), $"report.json lacks {field}");
                Assert.NotEqual(JsonValueKind.Null, value.ValueKind);
            }

            Assert.Equal("teletherapy", root.GetProperty("target").GetString());
            Assert.Equal(2, root.GetProperty("sessions").GetInt32());
            Assert.Equal(2, root.GetProperty("participants").GetInt32());
            Assert.Null(report.SendTickMs);
            Assert.Equal(2 * 2 * 2, report.TracksReceived);
            Assert.Equal(2, report.SessionsUp);
            Assert.InRange(root.GetProperty("durationSeconds").GetDouble(), 2.5, 10);

            // Two sessions, four publishers of ~50 audio + ~60 video packets a second: hundreds forwarded in 3 s.
            Assert.InRange(root.GetProperty("forwardedPackets").GetInt64(), 500, 100_000);
            Assert.InRange(root.GetProperty("packetsSent").GetInt64(), 500, 100_000);
            Assert.InRange(root.GetProperty("lossRatio").GetDouble(), 0, 0.05);
            var p50 = root.GetProperty("latencyP50Ms").GetDouble();
            Assert.InRange(p50, 0.001, 500);
            Assert.InRange(root.GetProperty("latencyP99Ms").GetDouble(), p50, 2000);
            Assert.True(root.GetProperty("relayCpuSeconds").GetDouble() > 0);
            Assert.True(root.GetProperty("cpuMicrosPerForwardedPacket").GetDouble() > 0);
            // The kernel's part (stime) is part of the whole; a relay forwarding over UDP spends some of it there.
            Assert.InRange(root.GetProperty("kernelCpuMicrosPerForwardedPacket").GetDouble(), 0, root.GetProperty("cpuMicrosPerForwardedPacket").GetDouble());
            Assert.InRange(root.GetProperty("relayPeakRssBytes").GetInt64(), 10L << 20, 8L << 30);

            // Memory and threads: idle before the first session, in the window after; a peak at least the idle size.
            var idleRss = root.GetProperty("relayIdleRssBytes").GetInt64();
            Assert.InRange(idleRss, 10L << 20, root.GetProperty("relayPeakRssBytes").GetInt64());
            Assert.Equal((report.RelayPeakRssBytes - idleRss) / 2, root.GetProperty("relayBytesPerSession").GetInt64());
            Assert.InRange(root.GetProperty("relayIdleThreads").GetInt32(), 2, 500);
            Assert.InRange(root.GetProperty("relayThreads").GetInt32(), 2, 500);
            Assert.InRange(root.GetProperty("joinP50Ms").GetDouble(), 0.01, 20_000);
            Assert.InRange(root.GetProperty("admitToFirstPacketP50Ms").GetDouble(), 0.01, 20_000);
            Assert.True(report.RelayForwardedCounter > 0, "the relay's own counter saw the forwarded packets");
            var node = Assert.Single(report.Nodes);
            Assert.Equal(2, node.SessionsCarried);
            Assert.Equal(report.RelayForwardedCounter, node.ForwardedPackets);
            Assert.True(node.CpuSeconds > 0, "the server's own process CPU counter advanced");
            Assert.NotEmpty(report.Series);

            var html = await File.ReadAllTextAsync(Path.Combine(output, "report.html"), timeout.Token);
            Assert.Contains("<svg", html, StringComparison.Ordinal);
            Assert.DoesNotContain("http://cdn", html, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>
    /// Group sessions: a therapist and three contacts, each with the link from its own email, all admitted, every
    /// participant's audio and video reaching the three others, and every packet sent expected three times. The media
    /// is sent on 50 ms ticks (<c>--send-tick</c>): everything due between two ticks leaves at the next, none skipped.
    /// </summary>
    [Fact]
    public async Task TwoSessionsOfFourParticipantsReachEveryoneFromEveryone()
    {
        var output = Directory.CreateTempSubdirectory("load-test-group-report-").FullName;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var (report, root) = await RunAsync(["--sessions", "2", "--participants", "4", "--send-tick", "50ms", "--setup-timeout", "40s"], output, timeout.Token);

            Assert.Equal(4, root.GetProperty("participants").GetInt32());
            Assert.Equal(50, root.GetProperty("sendTickMs").GetDouble());
            Assert.True(report.SessionsUp == 2, $"{report.SessionsUp} of 2 sessions up: {string.Join("; ", report.Errors)}");

            // Two sessions × four subscribers × three publishers × audio and video, every one flowing in the window.
            Assert.Equal(2 * 4 * 3 * 2, root.GetProperty("tracksExpected").GetInt32());
            Assert.Equal(2 * 4 * 3 * 2, root.GetProperty("tracksReceived").GetInt32());

            // Each packet sent is expected at the three other participants; only packets in flight at the window's
            // edges may differ (a few per track).
            var sent = root.GetProperty("packetsSent").GetInt64();
            var expected = root.GetProperty("packetsExpected").GetInt64();
            Assert.InRange(sent, 1000, 100_000);
            // Each publisher sends 50 audio packets and ~67 video packets a second (the cached clip): on 50 ms ticks
            // that is several packets a tick, all of which leave (one audio packet and one frame a tick would be ~64).
            var perPublisherSecond = sent / (8 * root.GetProperty("durationSeconds").GetDouble());
            Assert.True(perPublisherSecond >= 105, $"{perPublisherSecond:F1} packets a second from each publisher");
            Assert.InRange(expected, (3 * sent) - (48 * 5), (3 * sent) + (48 * 5));
            Assert.InRange(root.GetProperty("packetsReceived").GetInt64(), expected * 0.95, expected + (48 * 5));
            Assert.InRange(root.GetProperty("lossRatio").GetDouble(), 0, 0.05);
            Assert.Equal(2, report.Nodes.Single().SessionsCarried);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>
    /// <c>--listeners 1</c>: in a session of three, only the therapist takes in media through the window; the two
    /// contacts stay connected and the relay goes on forwarding to them, but they drop it unread. Loss and tracks are
    /// the therapist's; what was forwarded is the relay's own count, about twice what was sent.
    /// </summary>
    [Fact]
    public async Task WithOneListenerTheOthersDropTheirMediaUnreadAndTheRelayCountsWhatItForwarded()
    {
        var output = Directory.CreateTempSubdirectory("load-test-listeners-report-").FullName;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var (report, root) = await RunAsync(["--sessions", "1", "--participants", "3", "--listeners", "1", "--setup-timeout", "40s"], output, timeout.Token);

            Assert.True(report.SessionsUp == 1, $"{report.SessionsUp} of 1 session up: {string.Join("; ", report.Errors)}");
            Assert.Equal(1, root.GetProperty("listeners").GetInt32());

            // The therapist's tracks only: two publishers' audio and video.
            Assert.Equal(2 * 2, report.TracksExpected);
            Assert.Equal(2 * 2, report.TracksReceived);

            // Three publishers; the therapist expects the two others' packets, the relay forwards each to two.
            var sent = report.PacketsSent;
            Assert.InRange(sent, 300, 100_000);
            Assert.InRange(report.PacketsExpected, (2 * sent / 3) - 100, (2 * sent / 3) + 100);
            Assert.InRange(report.LossRatio, 0, 0.05);
            Assert.Equal(report.RelayForwardedCounter, report.ForwardedPackets);
            Assert.InRange(report.ForwardedPackets, (2 * sent) - 200, (2 * sent) + 200);

            // What the contacts were sent reached their sockets and was dropped there, not lost on the way.
            Assert.InRange(report.PacketsDroppedUnread, report.ForwardedPackets - report.PacketsReceived - 200, report.ForwardedPackets - report.PacketsReceived + 200);
            Assert.True(report.CpuMicrosPerForwardedPacket > 0);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>Runs the generator against our server for 3 s with no warm-up; returns the report and report.json as read back.</summary>
    private static async Task<(LoadReport Report, JsonElement Json)> RunAsync(string[] args, string output, CancellationToken cancellationToken)
    {
        var cache = Path.Combine(Path.GetTempPath(), "teletherapy-load-media");
        Assert.True(LoadOptions.TryParse(
            [.. args, "--duration", "3s", "--out", output, "--server-dll", ServerBuild.Dll(), "--media-cache", cache, "--quiet", "--warmup", "0"],
            out var options, out var error), error);
        LoadReport report;
        var target = new TeletherapyTarget(options!);
        await using (target.ConfigureAwait(false))
        {
            report = await new LoadRunner(options!, target, TextWriter.Null).RunAsync(cancellationToken);
        }

        await ReportWriter.WriteAsync(report, output, cancellationToken);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "report.json"), cancellationToken));
        return (report, json.RootElement.Clone());
    }
}
