using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// Which simulcast encoding a consumer forwards: a switch completes on the target's keyframe while the current encoding
/// goes on; going down can stop the current one at once.
/// </summary>
public sealed class LayerSelectionTests
{
    private const int Paused = Consumer.Paused;

    [Fact]
    public void VideoStartsOnTheTargetsKeyFrameAndAsksForIt()
    {
        var layers = new LayerSelection(1, awaitKeyFrame: true);
        Assert.Equal(Paused, layers.Current);
        Assert.Equal(LayerStep.Drop, Select(layers, 0, isKeyFrame: true));
        Assert.Equal(LayerStep.AwaitKeyFrame, Select(layers, 1, isKeyFrame: false));
        Assert.Equal(LayerStep.Switched, Select(layers, 1, isKeyFrame: true, out var climbedFrom, countSwitch: false));
        Assert.Equal(Paused, climbedFrom); // the start is no climb
        Assert.Equal(1, layers.Current);
        Assert.Equal(0, layers.Switches);
        Assert.Equal(LayerStep.Forward, Select(layers, 1, isKeyFrame: false));
    }

    [Fact]
    public void AudioFlowsFromTheStart()
    {
        var layers = new LayerSelection(0, awaitKeyFrame: false);
        Assert.Equal(0, layers.Current);
        Assert.False(layers.NeedsKeyFrame);
    }

    [Fact]
    public void AClimbKeepsTheCurrentLayerUntilTheTargetsKeyFrameAndIsReported()
    {
        var layers = Flowing(0);
        Assert.True(layers.Retarget(2, immediate: false));
        Assert.Equal(0, layers.Current);
        Assert.Equal(LayerStep.Forward, Select(layers, 0, isKeyFrame: false));
        Assert.Equal(LayerStep.AwaitKeyFrame, Select(layers, 2, isKeyFrame: false));
        Assert.Equal(LayerStep.Drop, Select(layers, 1, isKeyFrame: true));

        var since = layers.CurrentSince;
        Assert.Equal(LayerStep.Switched, Select(layers, 2, isKeyFrame: true, out var climbedFrom));
        Assert.Equal(0, climbedFrom);
        Assert.Equal(2, layers.Current);
        Assert.True(layers.CurrentSince >= since && layers.CurrentSince != 0);
        Assert.Equal(1, layers.Switches);
        Assert.Equal(LayerStep.Drop, Select(layers, 0, isKeyFrame: false));

        // Reported once: the next keyframe of the layer is no switch.
        Assert.Equal(LayerStep.Forward, Select(layers, 2, isKeyFrame: true, out climbedFrom));
        Assert.Equal(Paused, climbedFrom);
    }

    [Fact]
    public void AnImmediateMoveStopsTheCurrentLayerAndIsNoClimb()
    {
        var layers = Flowing(2);
        Assert.True(layers.Retarget(0, immediate: true));
        Assert.Equal(Paused, layers.Current);
        Assert.Equal(LayerStep.Drop, Select(layers, 2, isKeyFrame: true));
        Assert.Equal(LayerStep.Switched, Select(layers, 0, isKeyFrame: true, out var climbedFrom));
        Assert.Equal(Paused, climbedFrom);
        Assert.Equal(0, layers.Current);
    }

    [Fact]
    public void AMoveDownForTheViewKeepsTheCurrentLayerUntilTheKeyFrameAndIsNoClimb()
    {
        var layers = Flowing(2);
        Assert.True(layers.Retarget(0, immediate: false, climb: false));
        Assert.Equal(2, layers.Current);
        Assert.Equal(LayerStep.Forward, Select(layers, 2, isKeyFrame: false));
        Assert.Equal(LayerStep.AwaitKeyFrame, Select(layers, 0, isKeyFrame: false));
        Assert.Equal(LayerStep.Switched, Select(layers, 0, isKeyFrame: true, out var climbedFrom));
        Assert.Equal(Paused, climbedFrom);
        Assert.Equal(0, layers.Current);
        Assert.Equal(1, layers.Switches);
    }

    [Fact]
    public void PausingStopsAtOnceAndCountsAsASwitch()
    {
        var layers = Flowing(1);
        Assert.False(layers.Retarget(Paused, immediate: false)); // no keyframe to ask for
        Assert.Equal(Paused, layers.Current);
        Assert.Equal(1, layers.Switches);
        Assert.Equal(LayerStep.Drop, Select(layers, 1, isKeyFrame: true));
        Assert.Equal(LayerStep.Drop, Select(layers, 0, isKeyFrame: true));
    }

    [Fact]
    public void GoingBackToTheFlowingLayerGivesUpThePendingSwitch()
    {
        var layers = Flowing(0);
        Assert.True(layers.Retarget(1, immediate: false));
        Assert.False(layers.Retarget(0, immediate: false)); // nothing to wait for
        Assert.Equal(LayerStep.Drop, Select(layers, 1, isKeyFrame: true));
        Assert.Equal(LayerStep.Forward, Select(layers, 0, isKeyFrame: false));
        Assert.Equal(0, layers.Switches);
    }

    [Fact]
    public void ARestartWaitsForAKeyFrameOfTheSameLayerWithoutASwitch()
    {
        var layers = Flowing(1);
        layers.RequireKeyFrame();
        Assert.Equal(LayerStep.AwaitKeyFrame, Select(layers, 1, isKeyFrame: false));
        Assert.Equal(LayerStep.Forward, Select(layers, 1, isKeyFrame: true));
        Assert.Equal(0, layers.Switches);
    }

    private static LayerSelection Flowing(int encoding)
    {
        var layers = new LayerSelection(encoding, awaitKeyFrame: true);
        Assert.Equal(LayerStep.Switched, Select(layers, encoding, isKeyFrame: true, out _, countSwitch: false));
        return layers;
    }

    private static LayerStep Select(LayerSelection layers, int encoding, bool isKeyFrame) => Select(layers, encoding, isKeyFrame, out _);

    private static LayerStep Select(LayerSelection layers, int encoding, bool isKeyFrame, out int climbedFrom, bool countSwitch = true) =>
        layers.Select(encoding, isKeyFrame, countSwitch, out climbedFrom);
}
