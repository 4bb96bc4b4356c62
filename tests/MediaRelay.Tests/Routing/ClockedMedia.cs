using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// Publishers' media on the relay's fake clock. As the test lets time pass, in steps of 10 ms, each publisher sends what
/// is due (a 20 ms audio packet; a video frame at 30 fps, one packet per enabled layer for simulcast), and the clock moves
/// on only once the relay has received it: the relay's timestamps, rates, report windows and holds see the time the
/// media was sent at, however slowly a busy machine runs the test. The relay's housekeeping runs on the clock's timer,
/// once a fake second, inside the step that crosses it.
/// </summary>
internal sealed class ClockedMedia
{
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan AudioInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan FrameInterval = TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 30);
    private readonly List<Sender> _senders = [];

    public ClockedMedia(FakeTimeProvider clock, params SyntheticPeer[] publishers)
    {
        Clock = clock;
        foreach (var publisher in publishers)
        {
            Add(publisher);
        }
    }

    public FakeTimeProvider Clock { get; }

    /// <summary>A publisher starts sending at the clock's now.</summary>
    public void Add(SyntheticPeer publisher) => _senders.Add(new Sender(publisher, Clock.GetUtcNow()));

    /// <summary>Lets <paramref name="duration"/> of fake time pass, the media flowing.</summary>
    public async Task RunAsync(TimeSpan duration)
    {
        var end = Clock.GetUtcNow() + duration;
        while (Clock.GetUtcNow() < end)
        {
            await StepAsync();
        }
    }

    /// <summary>Lets time pass until <paramref name="condition"/> holds; fails the test after <paramref name="limit"/> of fake time.</summary>
    public async Task RunUntilAsync(Func<bool> condition, TimeSpan limit, Func<string> what)
    {
        var end = Clock.GetUtcNow() + limit;
        while (!condition())
        {
            if (Clock.GetUtcNow() >= end)
            {
                Assert.Fail($"Not within {limit.TotalSeconds} s of the relay's clock: {what()}.");
            }

            await StepAsync();
        }
    }

    public Task RunUntilAsync(Func<bool> condition, TimeSpan limit, string what) => RunUntilAsync(condition, limit, () => what);

    /// <summary>One step: what is due goes out and reaches the relay, then the clock moves on by <see cref="Step"/>.</summary>
    public async Task StepAsync()
    {
        var now = Clock.GetUtcNow();
        foreach (var sender in _senders)
        {
            await sender.SendDueAsync(now);
        }

        Clock.Advance(Step);
    }

    /// <summary>
    /// Waits (in real time) for something the test sent over loopback to have been handled: a short spin, then
    /// millisecond polls. Fails the test after <see cref="SyntheticPeer.StepTimeout"/>.
    /// </summary>
    public static async Task ArrivedAsync(Func<bool> condition, string what)
    {
        var start = Stopwatch.GetTimestamp();
        for (var polls = 0; !condition(); polls++)
        {
            if (Stopwatch.GetElapsedTime(start) > SyntheticPeer.StepTimeout)
            {
                Assert.Fail($"Timed out after {SyntheticPeer.StepTimeout.TotalSeconds} s waiting for {what}.");
            }

            if (polls < 20)
            {
                await Task.Yield();
            }
            else
            {
                await Task.Delay(1);
            }
        }
    }

    private sealed class Sender(SyntheticPeer publisher, DateTimeOffset start)
    {
        private DateTimeOffset _nextAudio = start;
        private DateTimeOffset _nextVideo = start;

        public async Task SendDueAsync(DateTimeOffset now)
        {
            var received = publisher.Peer.PacketsReceived;
            var sent = publisher.RtpPacketsSent;
            for (; _nextAudio <= now; _nextAudio += AudioInterval)
            {
                publisher.SendAudio();
            }

            for (; _nextVideo <= now; _nextVideo += FrameInterval)
            {
                publisher.SendVideoFrame();
            }

            var expected = received + (publisher.RtpPacketsSent - sent);
            if (expected > received)
            {
                await ArrivedAsync(() => publisher.Peer.PacketsReceived >= expected, $"{publisher.Id}'s packets at the relay");
            }
        }
    }
}
