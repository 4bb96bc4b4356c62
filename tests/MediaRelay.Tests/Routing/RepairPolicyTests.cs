using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>How much repair a subscriber's link may take, and when a repair goes twice.</summary>
public sealed class RepairPolicyTests
{
    [Theory]
    [InlineData(2_000_000, 1_000_000)] // half the layer's rate
    [InlineData(150_000, 96_000)] // but never below what a low layer's keyframe needs
    [InlineData(0, 96_000)]
    public void TheBudgetFillsAtHalfTheLayersRate(long layer, long expected) =>
        Assert.Equal(expected, RepairPolicy.BudgetRate(layer));

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, false)] // under 1 %: one copy
    [InlineData(3, true)]
    [InlineData(BandwidthAllocator.CongestionLoss - 1, true)]
    [InlineData(BandwidthAllocator.CongestionLoss, false)] // congested: a second copy only adds to the queue
    [InlineData(255, false)]
    public void RepairsGoTwiceOnALossyLinkThatIsNotCongested(int fractionLost, bool twice) =>
        Assert.Equal(twice, RepairPolicy.SendTwice(fractionLost));

    [Theory]
    [InlineData(0, 250)] // a LAN: a quarter of a second still covers many NACKs
    [InlineData(-10, 250)]
    [InlineData(33, 250)]
    [InlineData(40, 270)] // time to notice the loss and three round trips
    [InlineData(100, 450)] // the round trip assumed before the reports tell
    [InlineData(250, 900)]
    [InlineData(284, 1000)] // never more than a second
    [InlineData(5000, 1000)]
    public void PacketsAreKeptForTheLongestRoundTripsRepairs(int roundTripMs, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RepairPolicy.StorageWindow(TimeSpan.FromMilliseconds(roundTripMs)));

    [Fact]
    public void AnyRoundTripGivesAWindow() =>
        Assert.Equal(RepairPolicy.MaxStorage, RepairPolicy.StorageWindow(TimeSpan.MaxValue));
}
