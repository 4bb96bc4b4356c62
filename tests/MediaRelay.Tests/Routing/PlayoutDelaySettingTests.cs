using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>The playout delay asked for, and its header extension value: written while raised and for a while after.</summary>
public sealed class PlayoutDelaySettingTests
{
    private static readonly long Second = Stopwatch.Frequency;

    [Fact]
    public void TheElementIsWrittenWhileRaisedAndForTenSecondsAfterItDropsToZero()
    {
        var setting = new PlayoutDelaySetting();
        var now = 100 * Second;
        Assert.Equal(-1, setting.Element);

        setting.Update(TimeSpan.FromMilliseconds(240), now);
        Assert.Equal(TimeSpan.FromMilliseconds(240), setting.Delay);
        Assert.Equal(Packed(TimeSpan.FromMilliseconds(240)), setting.Element);

        // Back to zero: the browser is told so for a while.
        setting.Update(TimeSpan.Zero, now + Second);
        Assert.Equal(TimeSpan.Zero, setting.Delay);
        Assert.Equal(Packed(TimeSpan.Zero), setting.Element);
        setting.Update(TimeSpan.Zero, now + (10 * Second) - 1);
        Assert.Equal(Packed(TimeSpan.Zero), setting.Element);
        setting.Update(TimeSpan.Zero, now + (10 * Second));
        Assert.Equal(-1, setting.Element);
        Assert.Equal(1, setting.Raised);
    }

    [Fact]
    public void EachRiseFromZeroIsCountedOnce()
    {
        var setting = new PlayoutDelaySetting();
        setting.Update(TimeSpan.FromMilliseconds(240), Second);
        setting.Update(TimeSpan.FromMilliseconds(440), 2 * Second); // higher, not a new rise
        Assert.Equal(1, setting.Raised);
        setting.Update(TimeSpan.Zero, 3 * Second);
        setting.Update(TimeSpan.FromMilliseconds(240), 4 * Second);
        Assert.Equal(2, setting.Raised);
    }

    [Fact]
    public void TheDelayIsRoundedUpToWholeMilliseconds()
    {
        var setting = new PlayoutDelaySetting();
        setting.Update(TimeSpan.FromMilliseconds(0.2), 1);
        Assert.Equal(TimeSpan.FromMilliseconds(1), setting.Delay);
    }

    private static int Packed(TimeSpan delay)
    {
        var value = new byte[3];
        PlayoutDelayPolicy.Write(value, delay, PlayoutDelayPolicy.Upper);
        return (value[0] << 16) | (value[1] << 8) | value[2];
    }
}
