using Teletherapy.LoadTests.Media;
using Teletherapy.LoadTests.Targets;

namespace Teletherapy.LoadTests.Tests;

public sealed class MeasurementTests
{
    [Fact]
    public void TheTrailerCarriesSsrcCounterAndSendTime()
    {
        var payload = new byte[40];
        PayloadTrailer.Write(payload.AsSpan(24), 0xDEADBEEF, 12345, 987654321012);
        Assert.True(PayloadTrailer.TryRead(payload, out var ssrc, out var counter, out var sent));
        Assert.Equal(0xDEADBEEFu, ssrc);
        Assert.Equal(12345u, counter);
        Assert.Equal(987654321012, sent);
        Assert.False(PayloadTrailer.TryRead(payload.AsSpan(0, 10), out _, out _, out _));
    }

    [Fact]
    public void QuantilesComeFromTheBuckets()
    {
        var histogram = new LatencyHistogram();
        for (var i = 0; i < 98; i++)
        {
            histogram.Record(100); // 0.1 ms
        }

        histogram.Record(5_000);
        histogram.Record(20_000);
        var counts = histogram.Snapshot(reset: true);
        Assert.Equal(0.105, LatencyHistogram.Quantile(counts, 0.5)!.Value, 3);
        Assert.Equal(5.005, LatencyHistogram.Quantile(counts, 0.99)!.Value, 3);
        Assert.Null(LatencyHistogram.Quantile(histogram.Snapshot(reset: false), 0.5));
    }

    [Fact]
    public void OggPagesAreSplitIntoOpusPacketsPastTheHeaders()
    {
        static byte[] Page(params byte[][] packets)
        {
            var lacing = new List<byte>();
            foreach (var p in packets)
            {
                var left = p.Length;
                while (left >= 255)
                {
                    lacing.Add(255);
                    left -= 255;
                }

                lacing.Add((byte)left);
            }

            var header = new byte[27];
            "OggS"u8.CopyTo(header);
            header[26] = (byte)lacing.Count;
            return [.. header, .. lacing, .. packets.SelectMany(p => p)];
        }

        var head = "OpusHead"u8.ToArray().Concat(new byte[11]).ToArray();
        var tags = "OpusTags"u8.ToArray();
        var big = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        byte[] file = [.. Page(head), .. Page(tags), .. Page([0x78, 1, 2], big)];

        var packets = OggOpusReader.ReadPackets(file);

        Assert.Equal(2, packets.Count);
        Assert.Equal(new byte[] { 0x78, 1, 2 }, packets[0]);
        Assert.Equal(big, packets[1]);
    }

    [Fact]
    public void ANodesMetricsAreSummedOverTheirLabelsAndOtherMetricsIgnored()
    {
        const string text = """
            # HELP teletherapy_sessions_active Sessions with at least one connected participant.
            # TYPE teletherapy_sessions_active gauge
            teletherapy_sessions_active 21
            teletherapy_sessions_active_total 99
            process_cpu_seconds_total 12.5
            process_cpu_seconds_total_extra 7
            teletherapy_relay_packets_forwarded_total{kind="audio"} 1000
            teletherapy_relay_packets_forwarded_total{kind="video",layer="{h}"} 2500 1712345678000
            teletherapy_relay_packets_dropped_total{reason="late"} 3
            """;

        var reading = NodeMetrics.Parse(new Uri("http://127.0.0.1:5080"), 0, text);

        Assert.Equal(21, reading.SessionsActive);
        Assert.Equal(12.5, reading.CpuSeconds);
        Assert.Equal(3500, reading.ForwardedPackets);
        Assert.Null(NodeMetrics.Parse(new Uri("http://127.0.0.1:5080"), 0, "process_cpu_seconds_total 1\n").SessionsActive);
    }

    [Fact]
    public void ANodesShareIsTheDifferenceOfItsTwoReadings()
    {
        var server = new Uri("http://127.0.0.1:5080/");
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var before = new NodeReading(server, start, 0, 10.0, 100);
        var after = new NodeReading(server, start + (4 * System.Diagnostics.Stopwatch.Frequency), 17, 12.0, 900);

        var node = NodeReport.From(before, after);

        Assert.Equal("http://127.0.0.1:5080", node.Server);
        Assert.Equal(17, node.SessionsCarried);
        Assert.Equal(2.0, node.CpuSeconds);
        Assert.Equal(50.0, node.CpuPercent);
        Assert.Equal(800, node.ForwardedPackets);
        Assert.Null(NodeReport.From(before, after with { CpuSeconds = null }).CpuPercent);
    }
}
