using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>The relay's receiver bookkeeping for a publisher stream and transport, without sockets.</summary>
public sealed class ReceiveSideTests
{
    private static readonly long Ms = Stopwatch.Frequency / 1000;

    [Fact]
    public void GapsAreNackedOnceThenRetriedAfterTheRepairRoundTripAndForgottenWhenRepaired()
    {
        var statistics = new ReceiveStatistics(0xABC, 90000);
        var t = Stopwatch.GetTimestamp();
        Assert.Equal(ReceiveStatistics.Arrival.InOrder, statistics.Classify(65534, 0, t, trackLoss: true));
        Assert.Equal(ReceiveStatistics.Arrival.GapOpened, statistics.Classify(2, 3000, t + Ms, trackLoss: true)); // 65535, 0, 1 lost across the wrap
        Span<ushort> due = stackalloc ushort[16];
        Assert.Equal([65535, 0, 1], due[..statistics.CollectNacks(due, t + (2 * Ms))].ToArray());
        Assert.Equal(0, statistics.CollectNacks(due, t + (3 * Ms))); // asked just now

        // 0 is repaired 40 ms after the NACK; the others are asked again once the (smoothed) round trip has passed.
        Assert.Equal(ReceiveStatistics.Arrival.FilledGap, statistics.Classify(0, 0, t + (42 * Ms), trackLoss: true));
        Assert.Equal(ReceiveStatistics.Arrival.Old, statistics.Classify(0, 0, t + (43 * Ms), trackLoss: true)); // a probe copy
        Assert.True(statistics.NackRoundTrip < TimeSpan.FromMilliseconds(100));
        Assert.Equal([65535, 1], due[..statistics.CollectNacks(due, t + (200 * Ms))].ToArray());

        // Cumulative loss and the extended highest sequence count the wrap (RFC 3550 A.3).
        Assert.True(statistics.TryGetReportBlock(t + (300 * Ms), out var block));
        Assert.Equal(0x10000u + 2, block.ExtendedHighestSequence);
        Assert.Equal(2, block.CumulativeLost);
        Assert.Equal((byte)(2 * 256 / 5), block.FractionLost);
    }

    /// <summary>
    /// Karn's problem: on a path whose repairs take 150 ms, each lost packet is asked for again before its first repair
    /// comes (the retry is due 1.25 round trips after a 100 ms start). Timing that repair from the retry would read 20 ms
    /// and drive the estimate down without end; it is timed from the first request and the estimate grows to the path's.
    /// A repair that could answer either request (70 ms after the retry) is left out.
    /// </summary>
    [Theory]
    [InlineData(150, 150)]
    [InlineData(200, 100)]
    public void ARepairAfterARetryIsTimedFromTheRequestItCouldAnswerOrLeftOut(int repairAfterFirstNackMs, int expectedRoundTripMs)
    {
        var statistics = new ReceiveStatistics(7, 90000);
        var t = Stopwatch.GetTimestamp();
        Span<ushort> due = stackalloc ushort[16];
        ushort sequence = 1000;
        statistics.Classify(sequence, 0, t, trackLoss: true);
        for (var round = 0; round < 60; round++)
        {
            // One packet lost, asked for at once, asked again when the retry falls due, then the repair.
            statistics.Classify((ushort)(sequence + 2), 0, t, trackLoss: true);
            Assert.Equal([(ushort)(sequence + 1)], due[..statistics.CollectNacks(due, t)].ToArray());
            var retryDue = t + (long)(statistics.NackRoundTrip.TotalSeconds * 1.25 * Stopwatch.Frequency) + (6 * Ms);
            Assert.Equal(0, statistics.CollectNacks(due, retryDue - (2 * Ms)));
            Assert.Equal([(ushort)(sequence + 1)], due[..statistics.CollectNacks(due, retryDue)].ToArray());
            Assert.Equal(ReceiveStatistics.Arrival.FilledGap, statistics.Classify((ushort)(sequence + 1), 0, t + (repairAfterFirstNackMs * Ms), trackLoss: true));
            sequence += 2;
            t += 300 * Ms;
        }

        Assert.InRange(statistics.NackRoundTrip.TotalMilliseconds, expectedRoundTripMs - 5, expectedRoundTripMs + 5);
    }

    [Fact]
    public void ASenderRestartingItsNumberingIsFollowedAfterTwoPacketsNotTreatedAsLoss()
    {
        var statistics = new ReceiveStatistics(1, 90000);
        var t = Stopwatch.GetTimestamp();
        for (ushort s = 10000; s < 10010; s++)
        {
            statistics.Classify(s, s * 3000u, t, trackLoss: true);
        }

        Assert.Equal(ReceiveStatistics.Arrival.Old, statistics.Classify(100, 0, t, trackLoss: true));
        Assert.Equal(ReceiveStatistics.Arrival.InOrder, statistics.Classify(101, 0, t, trackLoss: true));
        Assert.Equal(ReceiveStatistics.Arrival.InOrder, statistics.Classify(102, 0, t, trackLoss: true));
        Assert.Equal(0, statistics.MissingCount);
    }

    [Fact]
    public void TransportFeedbackReportsEveryPacketSinceTheLastOneInOrderWithLossesAndLateArrivals()
    {
        var recorder = new TransportWideFeedbackRecorder();
        var t = Stopwatch.GetTimestamp();
        ushort[] order = [65533, 65534, 1, 0, 3]; // 65535 and 2 lost, 0 late
        for (var i = 0; i < order.Length; i++)
        {
            recorder.OnPacket(order[i], t + (i * Ms));
        }

        var buffer = new byte[1500];
        var length = recorder.WriteFeedback(buffer, 1, 2, t + (10 * Ms));
        Assert.True(TransportWideFeedback.TryRead(buffer.AsSpan(0, length), out var feedback));
        var statuses = new List<(ushort, bool)>();
        foreach (var status in feedback.Statuses)
        {
            statuses.Add((status.SequenceNumber, status.Received));
        }

        Assert.Equal([(65533, true), (65534, true), (65535, false), (0, true), (1, true), (2, false), (3, true)], statuses);
        Assert.Equal(0, feedback.FeedbackPacketCount);

        // The next feedback starts after the last reported; a packet older than that is not reported again.
        recorder.OnPacket(2, t + (11 * Ms));
        recorder.OnPacket(4, t + (12 * Ms));
        length = recorder.WriteFeedback(buffer, 1, 2, t + (20 * Ms));
        Assert.True(TransportWideFeedback.TryRead(buffer.AsSpan(0, length), out feedback));
        Assert.Equal(4, feedback.BaseSequenceNumber);
        Assert.Equal(1, feedback.PacketStatusCount);
        Assert.Equal(1, feedback.FeedbackPacketCount);
        Assert.Equal(0, recorder.WriteFeedback(buffer, 1, 2, t + (30 * Ms)));
    }
}
