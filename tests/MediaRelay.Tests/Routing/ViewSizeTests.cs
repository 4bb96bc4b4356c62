using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>Which simulcast encoding a subscriber's view of a track needs at most: the smallest that covers it.</summary>
public sealed class ViewSizeTests
{
    private const int NoCap = Consumer.Paused;

    /// <summary>A 640×480 camera in three layers, smallest first, as the web client sends it.</summary>
    private static readonly PictureSize[] Camera = [new(160, 120), new(320, 240), new(640, 480)];

    [Theory]
    [InlineData(100, 75, 0)]
    [InlineData(160, 120, 0)]
    [InlineData(161, 121, 1)]
    [InlineData(320, 240, 1)]
    [InlineData(321, 200, 1)] // a wide tile: the picture fills its height, 200 px, so 240 rows cover it
    [InlineData(200, 241, 1)] // a tall tile: the picture fills its width, 200 px
    [InlineData(330, 250, 2)]
    [InlineData(640, 480, 2)]
    public void TheSmallestLayerAsWideOrAsHighAsTheViewCoversIt(int width, int height, int expected)
    {
        Assert.Equal(expected, new ViewSize(width, height).Covering(Camera));
    }

    [Fact]
    public void AViewLargerThanEveryLayerAndNoViewAtAllPutNoCap()
    {
        Assert.Equal(NoCap, new ViewSize(1920, 1080).Covering(Camera));
        Assert.Equal(NoCap, ViewSize.None.Covering(Camera));
        Assert.False(new ViewSize(1920, 1080).Exceeds(Camera, 2));
    }

    [Fact]
    public void AViewOutOfSightNeedsTheSmallestLayer()
    {
        Assert.Equal(0, new ViewSize(0, 0).Covering(Camera));
        Assert.True(new ViewSize(0, 0).Exceeds(Camera, 1));
    }

    [Fact]
    public void OnlyLayersArrivingWithAKnownSizeCount()
    {
        // The half layer is not arriving (the publisher turned it off): the full one is what covers a 300-px view.
        PictureSize[] withoutHalf = [new(160, 120), default, new(640, 480)];
        Assert.Equal(2, new ViewSize(300, 225).Covering(withoutHalf));
        Assert.False(new ViewSize(300, 225).Exceeds(withoutHalf, 2));

        // No keyframe seen yet, so no size known: no cap.
        Assert.Equal(NoCap, new ViewSize(100, 75).Covering([default, default, default]));
    }

    [Fact]
    public void LayersAreOrderedByTheirSizeNotTheirPosition()
    {
        PictureSize[] largestFirst = [new(640, 480), new(320, 240), new(160, 120)];
        Assert.Equal(1, new ViewSize(300, 225).Covering(largestFirst));
        Assert.True(new ViewSize(300, 225).Exceeds(largestFirst, 0));
        Assert.False(new ViewSize(300, 225).Exceeds(largestFirst, 2));
    }

    [Theory]
    [InlineData(0, 0, true)]
    [InlineData(1, 1, true)]
    [InlineData(16384, 16384, true)]
    [InlineData(0, 240, false)]
    [InlineData(320, 0, false)]
    [InlineData(-1, 240, false)]
    [InlineData(320, -240, false)]
    [InlineData(16385, 240, false)]
    [InlineData(int.MaxValue, int.MaxValue, false)]
    [InlineData(int.MinValue, 0, false)]
    public void OnlySizesAPageCanShowAreValid(int width, int height, bool valid)
    {
        Assert.Equal(valid, ViewSize.IsValid(width, height));
    }
}
