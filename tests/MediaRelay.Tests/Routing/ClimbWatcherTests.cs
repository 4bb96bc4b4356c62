using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>A climb to a higher layer fails when the subscriber NACKs a quarter of what the new layer sent, within two seconds.</summary>
public sealed class ClimbWatcherTests
{
    private static readonly long Second = Stopwatch.Frequency;
    private static readonly long Start = 100 * Second;

    [Fact]
    public void AClimbFailsWhenAQuarterOfWhatTheNewLayerSentIsNacked()
    {
        var watcher = new ClimbWatcher();
        watcher.Start(from: 1, Start);
        Sent(watcher, 40);
        Nacked(watcher, 9, Start + (Second / 10));
        Assert.False(watcher.TakeFailure());
        Assert.True(watcher.IsWatching);

        watcher.OnNacked(Start + (Second / 5)); // 10 of 40
        Assert.False(watcher.IsWatching);
        Assert.True(watcher.TakeFailure());
        Assert.False(watcher.TakeFailure()); // taken once
        Assert.Equal(1, watcher.From);
    }

    [Fact]
    public void TooFewPacketsSentSayNothingYet()
    {
        var watcher = new ClimbWatcher();
        watcher.Start(from: 0, Start);
        Sent(watcher, ClimbWatcher.MinPackets - 1);
        Nacked(watcher, ClimbWatcher.MinPackets - 1, Start + 1);
        Assert.False(watcher.TakeFailure());

        Sent(watcher, 1);
        watcher.OnNacked(Start + 2);
        Assert.True(watcher.TakeFailure());
    }

    [Fact]
    public void AClimbThatLastedTheWatchHeld()
    {
        var watcher = new ClimbWatcher();
        watcher.Start(from: 0, Start);
        Sent(watcher, 100);
        watcher.OnNacked(Start + ClimbWatcher.Watch + 1);
        Assert.False(watcher.IsWatching);

        Nacked(watcher, 100, Start + ClimbWatcher.Watch + 2);
        Assert.False(watcher.TakeFailure());
    }

    [Fact]
    public void AStoppedWatchCountsNothing()
    {
        var watcher = new ClimbWatcher();
        Sent(watcher, 100);
        Nacked(watcher, 100, Start);
        Assert.False(watcher.TakeFailure());

        watcher.Start(from: 0, Start);
        Sent(watcher, 100);
        watcher.Stop();
        Nacked(watcher, 100, Start + 1);
        Assert.False(watcher.TakeFailure());

        // A new climb starts counting afresh: what the stopped one sent does not dilute it.
        watcher.Start(from: 2, Start + 2);
        Sent(watcher, 20);
        Nacked(watcher, 5, Start + 3);
        Assert.True(watcher.TakeFailure());
        Assert.Equal(2, watcher.From);
    }

    private static void Sent(ClimbWatcher watcher, int count)
    {
        for (var i = 0; i < count; i++)
        {
            watcher.OnSent();
        }
    }

    private static void Nacked(ClimbWatcher watcher, int count, long now)
    {
        for (var i = 0; i < count; i++)
        {
            watcher.OnNacked(now);
        }
    }
}
