using System.Diagnostics;
using Teletherapy.MediaRelay.Transport;
using Xunit.Abstractions;
using static Teletherapy.MediaRelay.Tests.Routing.RoutingAssertions;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// One subscriber on ICE-TCP whose browser stops reading must cost the others nothing: the relay forwards every
/// session's media from one UDP receive thread, so a send that waited for that subscriber's socket would freeze them all.
/// </summary>
public sealed class StalledTcpSubscriberTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepTimeout = SyntheticPeer.StepTimeout;
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan MaxGap = TimeSpan.FromMilliseconds(250);

    [Fact(Timeout = 60000)]
    public async Task A_tcp_subscriber_that_stops_reading_does_not_stall_udp_subscribers_of_its_session_or_another()
    {
        using var relay = await RelayHarness.StartAsync(o => o.TcpSendStallSeconds = 3);

        // Session 1: alice publishes; bob receives her over ICE-TCP, carol over UDP. Session 2: dave to erin over UDP.
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = relay.Join("bob", IceTransportProtocol.Tcp);
        var carol = relay.Join("carol", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        await carol.SubscribeAsync();
        var otherSession = relay.Relay.GetOrCreateRouter("session-2");
        var dave = await relay.JoinAndPublishAsync("dave", IceTransportProtocol.Udp, router: otherSession);
        var erin = relay.Join("erin", IceTransportProtocol.Udp, router: otherSession);
        await erin.SubscribeAsync();

        dave.StartSending();
        using var blast = new AlicePump(alice);
        await RelayHarness.WaitUntilAsync(
            () => HasReceived(bob, alice, 0, 20) && HasReceived(carol, alice, 0, 20) && HasReceived(erin, dave, 10, 5),
            StepTimeout,
            "media to bob, carol and erin");
        Assert.Equal(1, relay.Sockets.TcpConnectionCount);
        var queueFullBefore = RelayMetrics.DroppedTcpQueueFull.Value;
        var stalledBefore = RelayMetrics.TcpClosedStalled.Value;

        // Bob's browser hangs: it reads nothing more. Alice keeps sending ~1,000 packets a second, several MB in the window.
        bob.SubscribeReading.Reset();
        var from = Stopwatch.GetTimestamp();
        var aliceSentBefore = alice.AudioPacketsSent + alice.VideoFramesSent;
        var daveSentBefore = dave.AudioPacketsSent + dave.VideoFramesSent;
        var carolBefore = carol.ReceivedPackets;
        var erinBefore = erin.ReceivedPackets;
        await Task.Delay(Stall);
        var to = Stopwatch.GetTimestamp();
        blast.Stop();
        dave.StopSending();
        await Task.Delay(200); // what is in flight lands
        var aliceSent = alice.AudioPacketsSent + alice.VideoFramesSent - aliceSentBefore;
        var daveSent = dave.AudioPacketsSent + dave.VideoFramesSent - daveSentBefore;
        var carolGot = carol.ReceivedPackets - carolBefore;
        var erinGot = erin.ReceivedPackets - erinBefore;
        var carolGap = LongestGap(carol, from, to);
        var erinGap = LongestGap(erin, from, to);
        output.WriteLine($"carol {carolGot} of {aliceSent}, longest gap {carolGap.TotalMilliseconds:0} ms; erin {erinGot} of {daveSent}, longest gap {erinGap.TotalMilliseconds:0} ms");
        output.WriteLine($"bob's queue-full drops {RelayMetrics.DroppedTcpQueueFull.Value - queueFullBefore}, TCP connections now {relay.Sockets.TcpConnectionCount}");

        // Bob's connection backed up: its packets were dropped, and it was closed once its queue stayed full.
        Assert.True(RelayMetrics.DroppedTcpQueueFull.Value > queueFullBefore, "packets for bob were dropped, not waited for");
        Assert.True(RelayMetrics.TcpClosedStalled.Value > stalledBefore, "bob's stalled connection was closed");
        Assert.Equal(0, relay.Sockets.TcpConnectionCount);

        // Everyone else kept receiving at the normal rate, without a pause.
        Assert.True(aliceSent > 3000, $"alice sent {aliceSent}");
        Assert.True(carolGot >= aliceSent * 0.99, $"carol got {carolGot} of {aliceSent}");
        Assert.True(erinGot >= daveSent * 0.99, $"erin got {erinGot} of {daveSent}");
        Assert.True(carolGap < MaxGap, $"carol waited {carolGap.TotalMilliseconds} ms for a packet");
        Assert.True(erinGap < MaxGap, $"erin waited {erinGap.TotalMilliseconds} ms for a packet");
        AssertForwardedIntact(carol, alice);
        AssertForwardedIntact(erin, dave);
    }

    /// <summary>The longest time between two packets arriving at <paramref name="subscriber"/> (or the window's ends) in the window.</summary>
    private static TimeSpan LongestGap(SyntheticPeer subscriber, long from, long to)
    {
        var arrivals = subscriber.Received.Values
            .SelectMany(s => s.Snapshot())
            .Select(p => p.ArrivalTimestamp)
            .Where(t => t >= from && t <= to)
            .Order()
            .Prepend(from)
            .Append(to)
            .ToList();
        var longest = TimeSpan.Zero;
        for (var i = 1; i < arrivals.Count; i++)
        {
            var gap = Stopwatch.GetElapsedTime(arrivals[i - 1], arrivals[i]);
            longest = gap > longest ? gap : longest;
        }

        return longest;
    }

    /// <summary>Alice's media at about 1,000 packets a second (video, and audio every tenth) from a thread of its own.</summary>
    private sealed class AlicePump : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;

        public AlicePump(SyntheticPeer alice)
        {
            _thread = new Thread(() =>
            {
                for (var i = 0; !_stop; i++)
                {
                    if (i % 10 == 0)
                    {
                        alice.SendAudio();
                    }

                    alice.SendVideoFrame();
                    alice.SendVideoFrame();
                    Thread.Sleep(1);
                }
            })
            { IsBackground = true, Name = "alice-pump" };
            _thread.Start();
        }

        public void Stop()
        {
            _stop = true;
            _thread.Join();
        }

        public void Dispose() => Stop();
    }
}
