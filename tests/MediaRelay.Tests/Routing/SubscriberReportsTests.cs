using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtcp;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>What a subscriber's Receiver Reports say of its link: loss, round trip, and loss over windows of a second.</summary>
public sealed class SubscriberReportsTests
{
    private static readonly long Second = Stopwatch.Frequency;
    private static readonly DateTimeOffset Arrival = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TheRoundTripIsSmoothedFromReportsAnsweringOurSenderReports()
    {
        var reports = new SubscriberReports();
        Assert.Equal(TimeSpan.FromMilliseconds(100), reports.RoundTrip);

        // Our Sender Report left 400 ms before this arrived and the subscriber held it 100 ms: 300 ms, a quarter of the way.
        var lastSenderReport = NtpTime.Middle(NtpTime.From(Arrival - TimeSpan.FromMilliseconds(400)));
        reports.OnReport(Block(fractionLost: 12, lastSenderReport: lastSenderReport, delay: 65_536 / 10), Arrival);
        Assert.Equal(12, reports.FractionLost);
        Assert.InRange(reports.RoundTrip.TotalMilliseconds, 149, 151);

        // No Sender Report answered: the loss counts, the round trip stays.
        reports.OnReport(Block(fractionLost: 3), Arrival);
        Assert.Equal(3, reports.FractionLost);
        Assert.InRange(reports.RoundTrip.TotalMilliseconds, 149, 151);
    }

    [Fact]
    public void AWindowClosesAfterASecondWithItsLossAndTheRateThatArrived()
    {
        var reports = new SubscriberReports();
        var start = 100 * Second;
        Assert.Null(reports.CloseWindow(Block(highest: 1_000, lost: 5), octetsSent: 50_000, packetsSent: 50, start));
        Assert.Null(reports.CloseWindow(Block(highest: 1_050, lost: 5), octetsSent: 100_000, packetsSent: 100, start + (Second / 2)));

        // 100 expected, 10 lost; 100 packets of 1,000 bytes (+ 50 of overhead) sent meanwhile.
        var window = reports.CloseWindow(Block(highest: 1_100, lost: 15), octetsSent: 150_000, packetsSent: 150, start + Second);
        Assert.Equal(new LossWindow(10 * 256 / 100, 90 * 1_050 * 8, start), window);

        // The next window starts where this one ended.
        Assert.Null(reports.CloseWindow(Block(highest: 1_200, lost: 15), octetsSent: 250_000, packetsSent: 250, start + Second + (Second / 2)));
        Assert.Equal(0, reports.CloseWindow(Block(highest: 1_200, lost: 15), octetsSent: 250_000, packetsSent: 250, start + (2 * Second))?.Loss);
    }

    [Fact]
    public void AWindowWithNothingExpectedOrASequenceGoingBackSaysNothing()
    {
        var reports = new SubscriberReports();
        var start = 100 * Second;
        Assert.Null(reports.CloseWindow(Block(highest: 1_000, lost: 0), 0, 0, start));
        Assert.Null(reports.CloseWindow(Block(highest: 1_000, lost: 0), 0, 0, start + Second));

        // Back to an earlier sequence number (a new stream): the window starts again.
        Assert.Null(reports.CloseWindow(Block(highest: 10, lost: 0), 0, 0, start + (3 * Second)));
        Assert.Null(reports.CloseWindow(Block(highest: 20, lost: 0), 0, 0, start + (3 * Second) + (Second / 2)));
        Assert.NotNull(reports.CloseWindow(Block(highest: 20, lost: 0), 0, 0, start + (4 * Second)));
    }

    private static ReportBlock Block(byte fractionLost = 0, int lost = 0, uint highest = 0, uint lastSenderReport = 0, uint delay = 0) =>
        new(0x5000, fractionLost, lost, highest, 0, lastSenderReport, delay);
}
