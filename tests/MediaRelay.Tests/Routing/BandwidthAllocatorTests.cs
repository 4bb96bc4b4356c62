using System.Diagnostics;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// A subscriber's simulcast layers from its estimate (REMB), its Receiver Reports' loss and its NACKs, on explicit time
/// (<see cref="Stopwatch"/> ticks) and tracks of the test's making: layers of ≈ 44/115/260 kbit/s and 40 kbit/s of audio.
/// </summary>
public sealed class BandwidthAllocatorTests
{
    private static readonly long Second = Stopwatch.Frequency;
    private static readonly long T0 = 1000 * Second;

    [Fact]
    public void WithoutAnEstimateTheBestLayerArrivingIsTaken()
    {
        var (allocator, video, tracks) = Start(target: 0);
        allocator.Allocate(tracks, T0, decreased: false);
        Assert.Equal(2, video.TargetEncoding);
    }

    [Fact]
    public void AFallingEstimateMovesDownAtOnceToTheBestLayerThatFitsBesideTheAudio()
    {
        var (allocator, video, tracks) = Start(target: 2);
        Assert.False(allocator.OnEstimate(2_000_000, T0));
        allocator.Allocate(tracks, T0, decreased: false);
        Assert.Equal(2, video.TargetEncoding);

        Assert.True(allocator.OnEstimate(210_000, T0 + (Second / 10))); // 170 kbit/s left for video
        allocator.Allocate(tracks, T0 + (Second / 10), decreased: true);
        Assert.Equal((1, true), video.LastSwitch);
    }

    [Fact]
    public void AFallSoonAfterTheLastOneIsItsEchoNotNewCongestion()
    {
        var (allocator, video, tracks) = Start(target: 2);
        allocator.OnEstimate(2_000_000, T0);
        Fall(allocator, tracks, 210_000, T0 + Second);
        video.Complete(T0 + Second);
        Fall(allocator, tracks, 100_000, T0 + (2 * Second)); // a second after going down: the estimate still sees the old rate
        Assert.Equal(1, video.TargetEncoding);
        Fall(allocator, tracks, 90_000, T0 + (3 * Second)); // settled: it counts
        Assert.Equal(0, video.TargetEncoding);
    }

    [Fact]
    public void FarBelowTheLowestLayerOnlyAudioGoesAndAProbeBringsVideoBackAfterTheHold()
    {
        var (allocator, video, tracks) = Start(target: 2);
        allocator.OnEstimate(2_000_000, T0);
        Fall(allocator, tracks, 20_000, T0 + Second);
        Assert.Equal((Consumer.Paused, true), video.LastSwitch);
        video.Complete(T0 + Second);

        allocator.Allocate(tracks, T0 + (2 * Second), decreased: false);
        Assert.Equal(Consumer.Paused, video.TargetEncoding);
        allocator.Allocate(tracks, T0 + (3 * Second), decreased: false); // two seconds quiet: the lowest layer as a probe
        Assert.Equal((0, false), video.LastSwitch);
    }

    [Fact]
    public void AStepUpIsAProbeAfterTheHoldAndAFallSoonAfterItDoublesTheNextHold()
    {
        var (allocator, video, tracks) = Start(target: 2);
        allocator.OnEstimate(2_000_000, T0 - Second);
        Fall(allocator, tracks, 150_000, T0); // 110 kbit/s for video: the lowest layer
        Assert.Equal(0, video.TargetEncoding);
        video.Complete(T0);

        allocator.Allocate(tracks, T0 + (19 * Second / 10), decreased: false);
        Assert.Equal(0, video.TargetEncoding);
        allocator.Allocate(tracks, T0 + (2 * Second), decreased: false);
        Assert.Equal((1, false), video.LastSwitch); // one layer up, waiting for its keyframe
        video.Complete(T0 + (2 * Second));

        Fall(allocator, tracks, 100_000, T0 + (3 * Second)); // the probe failed: the estimate fell within its verdict
        Assert.Equal((0, true), video.LastSwitch);
        video.Complete(T0 + (3 * Second));

        allocator.Allocate(tracks, T0 + (5 * Second), decreased: false);
        Assert.Equal(0, video.TargetEncoding); // not after two seconds this time
        allocator.Allocate(tracks, T0 + (7 * Second), decreased: false);
        Assert.Equal(1, video.TargetEncoding); // after four
    }

    [Fact]
    public void CongestionLossBoundsTheLayersByWhatGotThroughAndAHighEstimateDoesNotUndoIt()
    {
        var (allocator, video, tracks) = FlowingOnTheTopLayer();

        var lossy = allocator.OnLoss(new LossWindow(Loss: 179, ReceivedBitrate: 80_000, Start: T0), T0 + Second); // 70 %
        Assert.True(lossy);
        allocator.Allocate(tracks, T0 + Second, lossy);
        Assert.InRange(allocator.LossBasedBound, 101_999, 102_000); // (80 + 40 audio) × 0.85
        Assert.Equal((0, true), video.LastSwitch);
        video.Complete(T0 + Second);

        Assert.False(allocator.OnEstimate(2_000_000, T0 + (3 * Second / 2)));
        allocator.Allocate(tracks, T0 + (3 * Second / 2), decreased: false);
        Assert.Equal(0, video.TargetEncoding);
    }

    [Fact]
    public void LossInAWindowThatOpenedAtThePauseDoesNotPauseTheProbeThatFollows()
    {
        // A shaper far below the top layer: 70 % loss with little getting through pauses the video (audio only), and
        // after the hold the lowest layer comes back as a probe. The next report's window opened with the report that
        // paused, so its loss is still mostly the top layer's packets the shaper dropped after the pause.
        var (allocator, video, tracks) = FlowingOnTheTopLayer();
        var pausedAt = T0 + Second;
        allocator.Allocate(tracks, pausedAt, allocator.OnLoss(new LossWindow(179, 20_000, T0), pausedAt));
        Assert.Equal((Consumer.Paused, true), video.LastSwitch); // (20 + 40) × 0.85 leaves 11 kbit/s for video
        video.Complete(pausedAt);
        var probeAt = pausedAt + (2 * Second);
        allocator.Allocate(tracks, probeAt, decreased: false);
        Assert.Equal((0, false), video.LastSwitch);
        video.Complete(probeAt + (Second / 10));

        var reportAt = probeAt + (3 * Second / 10);
        var stale = allocator.OnLoss(new LossWindow(188, 30_000, pausedAt), reportAt); // 73 %, opened at the pause
        Assert.False(stale);
        allocator.Allocate(tracks, reportAt, stale);
        Assert.Equal(0, video.TargetEncoding); // the lowest layer goes on

        // A window that opened after the pause and still loses heavily is the lowest layer's own: audio only again.
        var own = allocator.OnLoss(new LossWindow(188, 30_000, reportAt), reportAt + Second);
        Assert.True(own);
        allocator.Allocate(tracks, reportAt + Second, own);
        Assert.Equal((Consumer.Paused, true), video.LastSwitch);
    }

    [Fact]
    public void CleanReportWindowsGrowTheBoundUntilAClimbIsTried()
    {
        var (allocator, video, tracks) = Start(target: 2);
        video.Complete(T0 - (5 * Second));
        allocator.OnEstimate(2_000_000, T0);
        allocator.Allocate(tracks, T0, allocator.OnLoss(new LossWindow(179, 80_000, T0 - Second), T0));
        video.Complete(T0);
        var bound = allocator.LossBasedBound;

        var now = T0;
        for (var window = 1; window <= 10 && video.TargetEncoding == 0; window++)
        {
            now = T0 + (window * Second);
            allocator.Allocate(tracks, now, allocator.OnLoss(new LossWindow(0, 60_000, now - Second), now));
        }

        Assert.Equal(1, video.TargetEncoding);
        Assert.True(allocator.LossBasedBound > bound, "the bound grew");
        Assert.InRange(now, T0 + (2 * Second), T0 + (4 * Second)); // not before the hold, and soon after it
    }

    [Fact]
    public void AClimbTheNacksShowFailingGoesBackAtOnceAndIsCountedForThisSubscriber()
    {
        var (allocator, video, tracks) = Start(target: 2);
        allocator.OnEstimate(2_000_000, T0);
        Fall(allocator, tracks, 150_000, T0);
        video.Complete(T0);
        allocator.Allocate(tracks, T0 + (2 * Second), decreased: false);
        video.Complete(T0 + (2 * Second));
        Assert.Equal(1, video.CurrentEncoding);

        allocator.OnClimbFailed(video, 0, T0 + (5 * Second / 2));
        Assert.Equal((0, true), video.LastSwitch);
        Assert.Equal(1, allocator.ClimbsFailed);
    }

    [Fact]
    public void ALayerThePublisherPausedIsLeftAndTakenAgainInOneStepWhenItResumes()
    {
        var (allocator, video, tracks) = Start(target: 2);
        video.Complete(T0);
        allocator.OnEstimate(100_000, T0); // low, but it never fell: the full layer stays
        allocator.Allocate(tracks, T0, decreased: false);
        Assert.Equal(2, video.TargetEncoding);

        video.Rates[2] = 0;
        allocator.Allocate(tracks, T0 + Second, decreased: false);
        Assert.Equal(0, video.TargetEncoding);
        Assert.Equal(2, video.ReturnEncoding);
        video.Complete(T0 + Second);

        video.Rates[2] = 260_000;
        allocator.Allocate(tracks, T0 + (3 * Second / 2), decreased: false);
        Assert.Equal(2, video.TargetEncoding);
        Assert.Equal(Consumer.Paused, video.ReturnEncoding);
    }

    [Fact]
    public void NoLayerLargerThanTheViewIsChosenHoweverHighTheEstimateAndNoProbeGoesThere()
    {
        var (allocator, video, tracks) = Start(target: 0);
        video.Sizes = CameraLayers;
        video.View = new ViewSize(300, 225); // the half layer (320×240) covers it
        allocator.Allocate(tracks, T0, decreased: false);
        Assert.Equal(1, video.TargetEncoding); // no estimate yet: the best layer the view needs
        video.Complete(T0);

        allocator.OnEstimate(5_000_000, T0 + Second);
        for (var t = 1; t <= 20; t++)
        {
            allocator.Allocate(tracks, T0 + (t * Second), decreased: false);
            Assert.Equal(1, video.TargetEncoding);
        }
    }

    [Fact]
    public void TheLayerIsTheLowerOfWhatTheLinkCarriesAndWhatTheViewNeeds()
    {
        var (allocator, video, tracks) = Start(target: 0);
        video.Sizes = CameraLayers;
        video.View = new ViewSize(640, 480);
        video.Complete(T0 - (5 * Second));
        allocator.OnEstimate(210_000, T0); // 170 kbit/s for video: the half layer fits, the full one does not
        allocator.Allocate(tracks, T0, decreased: false);
        Assert.Equal((1, false), video.LastSwitch);
        video.Complete(T0);
        allocator.Allocate(tracks, T0 + (Second / 2), decreased: false);
        Assert.Equal(1, video.TargetEncoding);

        // The view shrinks below the half layer: the link would carry it, the view does not need it.
        video.View = new ViewSize(150, 110);
        allocator.Allocate(tracks, T0 + Second, decreased: false);
        Assert.Equal(0, video.TargetEncoding);
    }

    [Fact]
    public void AViewThatShrinksMovesDownOnTheSmallerLayersKeyFrameAndOneThatGrowsClimbsBackAsTheLinkAllows()
    {
        var (allocator, video, tracks) = Start(target: 2);
        video.Sizes = CameraLayers;
        video.Complete(T0 - (5 * Second));
        allocator.OnEstimate(2_000_000, T0);
        allocator.Allocate(tracks, T0, decreased: false);
        Assert.Equal(2, video.TargetEncoding);

        // A small tile: down to the quarter layer, the full one going on until its keyframe (not immediate, no probe).
        video.View = new ViewSize(160, 120);
        allocator.Allocate(tracks, T0 + (Second / 10), decreased: false);
        Assert.Equal((0, false), video.LastSwitch);
        Assert.Equal(1, video.ViewSwitches);
        video.Complete(T0 + (Second / 5));

        // Hidden: still the quarter layer, not audio only.
        video.View = new ViewSize(0, 0);
        allocator.Allocate(tracks, T0 + Second, decreased: false);
        Assert.Equal(0, video.TargetEncoding);

        // Large again: a layer at a time, each once the last one's keyframe came.
        video.View = new ViewSize(1280, 960);
        allocator.Allocate(tracks, T0 + (3 * Second / 2), decreased: false);
        Assert.Equal((1, false), video.LastSwitch);
        allocator.Allocate(tracks, T0 + (8 * Second / 5), decreased: false);
        Assert.Equal(1, video.TargetEncoding);
        video.Complete(T0 + (17 * Second / 10));
        allocator.Allocate(tracks, T0 + (2 * Second), decreased: false);
        Assert.Equal((2, false), video.LastSwitch);
        Assert.Equal(1, video.ViewSwitches);
    }

    [Fact]
    public void AFailedClimbDoesNotGoBackToALayerLargerThanTheView()
    {
        var (allocator, video, tracks) = Start(target: 0);
        video.Sizes = CameraLayers;
        video.View = new ViewSize(160, 120);
        video.Complete(T0);
        allocator.OnClimbFailed(video, from: 2, T0 + Second);
        Assert.Equal(0, video.TargetEncoding);

        video.View = ViewSize.None; // without a view the failed climb is undone, back to where it came from
        allocator.OnClimbFailed(video, from: 2, T0 + (2 * Second));
        Assert.Equal((2, true), video.LastSwitch);
    }

    [Fact]
    public void AViewPutsNoCapWhileTheLayersSizesAreUnknown()
    {
        var (allocator, video, tracks) = Start(target: 0);
        video.View = new ViewSize(100, 75);
        allocator.Allocate(tracks, T0, decreased: false);
        Assert.Equal(2, video.TargetEncoding);
    }

    /// <summary>The layers' sizes of a 640×480 camera, as its keyframes give them.</summary>
    private static readonly PictureSize[] CameraLayers = [new(160, 120), new(320, 240), new(640, 480)];

    private static (BandwidthAllocator Allocator, Track Video, Track[] Tracks) Start(int target)
    {
        var video = new Track(MediaKind.Video, [44_000, 115_000, 260_000], target);
        var audio = new Track(MediaKind.Audio, [40_000], 0);
        return (new BandwidthAllocator(), video, [audio, video]);
    }

    /// <summary>The top layer flowing for five seconds and a high estimate at <see cref="T0"/>: a subscriber before any congestion.</summary>
    private static (BandwidthAllocator Allocator, Track Video, Track[] Tracks) FlowingOnTheTopLayer()
    {
        var (allocator, video, tracks) = Start(target: 2);
        video.Complete(T0 - (5 * Second));
        allocator.OnEstimate(2_000_000, T0);
        allocator.Allocate(tracks, T0, decreased: false);
        return (allocator, video, tracks);
    }

    private static void Fall(BandwidthAllocator allocator, Track[] tracks, long estimate, long now)
    {
        Assert.True(allocator.OnEstimate(estimate, now));
        allocator.Allocate(tracks, now, decreased: true);
    }

    /// <summary>A consumer as the allocator sees it; a switch completes when the test says its keyframe arrived.</summary>
    private sealed class Track(MediaKind kind, long[] rates, int target) : ILayeredConsumer
    {
        public long[] Rates { get; } = rates;

        public MediaKind Kind => kind;

        public bool IsClosed => false;

        public int TargetEncoding { get; private set; } = target;

        public int CurrentEncoding { get; private set; } = target;

        public long CurrentSince { get; private set; }

        public int ReturnEncoding { get; set; } = Consumer.Paused;

        public int EncodingCount => Rates.Length;

        public (int Encoding, bool Immediate) LastSwitch { get; private set; } = (int.MinValue, false);

        public long GetEncodingBitrate(int encoding) => Rates[encoding];

        public bool IsEncodingActive(int encoding) => Rates[encoding] > 0;

        /// <summary>The size of each layer's pictures (all unknown unless the test says).</summary>
        public PictureSize[] Sizes { get; set; } = new PictureSize[rates.Length];

        /// <summary>How large the subscriber shows the track.</summary>
        public ViewSize View { get; set; } = ViewSize.None;

        /// <summary>Moves down for the view (<see cref="SwitchDownForView"/>), which are no switch for the link.</summary>
        public int ViewSwitches { get; private set; }

        public void SwitchTo(int encoding, bool immediate)
        {
            TargetEncoding = encoding;
            LastSwitch = (encoding, immediate);
            if (immediate)
            {
                CurrentEncoding = Consumer.Paused;
            }
        }

        public bool ExceedsView(int encoding)
        {
            var arriving = Sizes.Select((size, i) => Rates[i] > 0 ? size : default).ToArray();
            return View.Exceeds(arriving, encoding);
        }

        public void SwitchDownForView(int encoding)
        {
            TargetEncoding = encoding;
            LastSwitch = (encoding, false);
            ViewSwitches++;
        }

        /// <summary>The target's keyframe went out at <paramref name="now"/>.</summary>
        public void Complete(long now) => (CurrentEncoding, CurrentSince) = (TargetEncoding, now);
    }
}
