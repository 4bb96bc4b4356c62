using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Sdp;
using Teletherapy.MediaRelay.Transport;
using static Teletherapy.MediaRelay.Tests.Routing.RoutingAssertions;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// The playout delay a subscriber's browser is asked for: zero on clean links, room for a repair and a retry on each
/// lossy hop, carried in the playout-delay header extension of the subscriber's video.
/// </summary>
public sealed class PlayoutDelayTests
{
    private static readonly long Second = Stopwatch.Frequency;

    [Fact]
    public void CleanLinksGetNoDelay() =>
        Assert.Equal(TimeSpan.Zero, PlayoutDelayPolicy.Compute(false, TimeSpan.FromMilliseconds(300), false, TimeSpan.FromMilliseconds(300)));

    [Fact]
    public void EachLossyHopAddsRoomForARepairAndARetry()
    {
        var rtt = TimeSpan.FromMilliseconds(80);
        var publisher = PlayoutDelayPolicy.Compute(true, rtt, false, rtt);
        var subscriber = PlayoutDelayPolicy.Compute(false, rtt, true, rtt);
        var both = PlayoutDelayPolicy.Compute(true, rtt, true, rtt);
        Assert.Equal(TimeSpan.FromMilliseconds(240), publisher); // 2.5 × 80 + 40
        Assert.Equal(TimeSpan.FromMilliseconds(240), subscriber);
        Assert.Equal(TimeSpan.FromMilliseconds(440), both);
        Assert.Equal(PlayoutDelayPolicy.Max, PlayoutDelayPolicy.Compute(true, TimeSpan.FromMilliseconds(400), true, TimeSpan.FromMilliseconds(400)));
    }

    [Theory]
    [InlineData(0, 10_000, 0x00, 0x03, 0xE8)]
    [InlineData(255, 10_000, 0x01, 0xA3, 0xE8)] // 26 units (rounded up), 1000 units
    [InlineData(500, 400, 0x03, 0x20, 0x32)] // a maximum below the minimum is raised to it
    public void TheExtensionHoldsMinimumAndMaximumIn10MsUnits(int minMs, int maxMs, byte b0, byte b1, byte b2)
    {
        var value = new byte[3];
        PlayoutDelayPolicy.Write(value, TimeSpan.FromMilliseconds(minMs), TimeSpan.FromMilliseconds(maxMs));
        Assert.Equal([b0, b1, b2], value);
    }

    [Fact]
    public void OneStrayLossIsNotALossyLinkButTwoCloseTogetherAreUntilTheHoldEnds()
    {
        var tracker = new LossTracker();
        var t = 1000 * Second;
        tracker.Record(1, t);
        Assert.False(tracker.IsLossy(t));
        tracker.Record(1, t + (30 * Second)); // the first has decayed to almost nothing
        Assert.False(tracker.IsLossy(t + (30 * Second)));
        tracker.Record(1, t + (31 * Second));
        Assert.True(tracker.IsLossy(t + (31 * Second)));
        Assert.True(tracker.IsLossy(t + (60 * Second)));
        Assert.False(tracker.IsLossy(t + (62 * Second)));
        tracker.Record(0, t + (63 * Second));
        Assert.False(tracker.IsLossy(t + (63 * Second)));
    }

    [Fact(Timeout = 30000)]
    public async Task ALossyUplinkGivesItsSubscriberAPlayoutDelayInTheVideoWhileACleanOneGetsNone()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var id = Teletherapy.MediaRelay.Negotiation.SubscribeOffer.Extensions.PlayoutDelay;
        Assert.Contains(bob.LastSubscribeOffer!.Media[1].Attributes, a => a.Name == "extmap" && a.Value == $"{id} {SdpExtMap.PlayoutDelayUri}");
        Assert.DoesNotContain(bob.LastSubscribeOffer!.Media[0].Attributes, a => a.Name == "extmap" && a.Value!.Contains(SdpExtMap.PlayoutDelayUri, StringComparison.Ordinal));
        var video = TracksFrom(bob, alice).Video;
        alice.AnswerNacks = true;
        alice.StartSending();
        try
        {
            await RelayHarness.WaitUntilAsync(() => HasReceived(bob, alice, 10, 30), SyntheticPeer.StepTimeout, "30 video packets at bob");
            relay.Relay.Housekeeping();
            Assert.Equal(TimeSpan.Zero, bob.Peer.PlayoutDelays.Values.Single());
            Assert.DoesNotContain(bob.StreamOf(video.Ssrc).Snapshot(), p => p.Extensions.ContainsKey((byte)id));

            var count = 0;
            alice.DropVideo = _ => ++count % 10 == 5;
            await RelayHarness.WaitUntilAsync(() => count >= 40, SyntheticPeer.StepTimeout, "four losses on alice's uplink");
            relay.Relay.Housekeeping();
            var delay = bob.Peer.PlayoutDelays.Values.Single();
            Assert.InRange(delay, TimeSpan.FromMilliseconds(40), PlayoutDelayPolicy.Max);
            var seen = bob.StreamOf(video.Ssrc).Count;
            await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.Ssrc).Count > seen + 5, SyntheticPeer.StepTimeout, "video after the delay was raised");
            var marked = bob.StreamOf(video.Ssrc).Snapshot().Skip(seen).First(p => p.Extensions.ContainsKey((byte)id)).Extensions[(byte)id];
            Assert.Equal(3, marked.Length);
            var min = (marked[0] << 4) | (marked[1] >> 4);
            var max = ((marked[1] & 0xF) << 8) | marked[2];
            Assert.InRange(min * 10, (int)delay.TotalMilliseconds - 10, (int)delay.TotalMilliseconds + 10);
            Assert.Equal(1000, max);
        }
        finally
        {
            alice.StopSending();
        }
    }

    [Fact(Timeout = 30000)]
    public async Task NacksForPacketsTheSubscriberLostRaiseItsDelayByItsOwnRoundTrip()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var video = TracksFrom(bob, alice).Video;
        alice.StartSending();
        try
        {
            await RelayHarness.WaitUntilAsync(() => HasReceived(bob, alice, 10, 20), SyntheticPeer.StepTimeout, "20 video packets at bob");
            var nack = new byte[64];
            // A NACK for a sequence number the relay never sent (lost upstream) says nothing about bob's link.
            var never = (ushort)(bob.StreamOf(video.Ssrc).Snapshot()[^1].Sequence + 500);
            var handled = bob.Peer.SubscribeRtcpReceived;
            Assert.True(bob.SendSubscribeRtcp(nack.AsSpan(0, GenericNack.Write(nack, 0x5EED, video.Ssrc, [never, (ushort)(never + 1), (ushort)(never + 2)]))));
            await ClockedMedia.ArrivedAsync(() => bob.Peer.SubscribeRtcpReceived > handled, "the NACK at the relay");
            relay.Relay.Housekeeping();
            Assert.Equal(TimeSpan.Zero, bob.Peer.PlayoutDelays.Values.Single());

            var sent = bob.StreamOf(video.Ssrc).Snapshot();
            Assert.True(bob.SendSubscribeRtcp(nack.AsSpan(0, GenericNack.Write(nack, 0x5EED, video.Ssrc, [sent[^6].Sequence, sent[^2].Sequence]))));
            await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.RtxSsrc!.Value).Count >= 2, SyntheticPeer.StepTimeout, "two retransmissions");
        }
        finally
        {
            alice.StopSending();
        }

        relay.Relay.Housekeeping();
        var delay = bob.Peer.PlayoutDelays.Values.Single();
        // Bob's round trip is 100 ms until its Receiver Reports say otherwise: at most 2.5 × 100 + 40 ms.
        Assert.InRange(delay, TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(291));
    }
}
