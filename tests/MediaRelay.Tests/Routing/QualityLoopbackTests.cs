using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;
using Xunit.Abstractions;
using static Teletherapy.MediaRelay.Tests.Routing.RoutingAssertions;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// Issue 7 over real loopback transports: the relay's feedback to publishers (transport-wide CC, Receiver Reports,
/// NACKs), repairs both ways (RTX from the publisher restored into its stream; subscriber NACKs answered from the
/// retransmission buffer on the RTX SSRC), simulcast layer switching from the subscriber's REMB with continuous
/// numbering, audio-only fallback and back, and the audio level behind the active-speaker hint. The relay runs on a fake
/// clock that the tests move on as the media flows (<see cref="ClockedMedia"/>): no sleeps, and what the relay measures
/// (rates, report windows, holds, the climb watch) does not depend on how fast the machine runs the test. Counts are the
/// peers' own, not the relay-wide metrics other test classes running at the same time change too.
/// </summary>
public sealed class QualityLoopbackTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepTimeout = SyntheticPeer.StepTimeout;

    [Fact(Timeout = 30000)]
    public async Task ThePublisherGetsTransportWideFeedbackNacksForItsGapsAndReceiverReports()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var first = (ushort)0;
        var dropped = new HashSet<ushort>();
        alice.DropVideo = s =>
        {
            // Two single losses and a burst of three, in the middle of the run.
            var index = (ushort)(s - first);
            return index is 20 or 41 or 60 or 61 or 62 && dropped.Add(s);
        };

        // 100 packets 4 ms apart on the relay's clock, each at the relay before the clock moves on.
        for (var i = 0; i < 100; i++)
        {
            if (i == 0)
            {
                var probe = new byte[1500];
                alice.WriteVideoFrame(probe);
                first = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(probe.AsSpan(2)) + 1);
            }

            var received = alice.Peer.PacketsReceived;
            var sent = alice.RtpPacketsSent;
            alice.SendVideoFrame();
            var expected = received + (alice.RtpPacketsSent - sent);
            await ClockedMedia.ArrivedAsync(() => alice.Peer.PacketsReceived >= expected, $"packet {i} at the relay");
            clock.Advance(TimeSpan.FromMilliseconds(4));
        }

        var last = (ushort)(first + 99);
        // The tail of the burst: no later packet triggers its feedback. The same pass sends the Receiver Report, the first
        // (housekeeping's timer has not fired in 0.4 s of the relay's clock), so it covers the whole run.
        var gatheredCalls = relay.Sockets.SendTogetherCalls;
        relay.Relay.Housekeeping();
        await RelayHarness.WaitUntilAsync(() => alice.FeedbackStatuses.ContainsKey(last), StepTimeout, "feedback up to the last packet");
        Assert.True(relay.Sockets.SendTogetherCalls > gatheredCalls, "the pass's reports left gathered (sendmmsg), not one call each");
        output.WriteLine($"{alice.FeedbackPackets} feedback packets for 100 packets in 0.4 s; NACKed {string.Join(',', alice.Nacked.Distinct().Select(s => (ushort)(s - first)))}");
        Assert.InRange(alice.FeedbackPackets, 7, 10); // every 50 ms, and the tail
        for (var s = first; s != (ushort)(last + 1); s++)
        {
            var index = (ushort)(s - first);
            if (dropped.Contains(s) && !alice.FeedbackStatuses.ContainsKey(s))
            {
                // A loss right after a feedback was sent leads the next interval: left out, not reported (the writer's
                // base is the first received packet). The sender treats it as unacknowledged.
                continue;
            }

            Assert.True(alice.FeedbackStatuses.TryGetValue(s, out var received), $"transport sequence {index} reported");
            Assert.True(!dropped.Contains(s) == received, $"transport sequence {index} reported {(received ? "received" : "lost")}");
        }

        Assert.Contains(dropped, alice.FeedbackStatuses.ContainsKey);

        await RelayHarness.WaitUntilAsync(() => dropped.All(alice.Nacked.Contains), StepTimeout, "a NACK for every lost packet");
        Assert.DoesNotContain(alice.Nacked, s => !dropped.Contains(s));

        await RelayHarness.WaitUntilAsync(() => alice.ReceiverReportBlocks.Any(b => b.Ssrc == alice.VideoSsrc), StepTimeout, "a Receiver Report for the video SSRC");
        var block = Assert.Single(alice.ReceiverReportBlocks, b => b.Ssrc == alice.VideoSsrc);
        Assert.Equal(last, (ushort)block.ExtendedHighestSequence);
        Assert.Equal(dropped.Count, block.CumulativeLost);
        Assert.InRange(block.FractionLost, 12, 13); // 5 of 100, in 1/256
    }

    [Fact(Timeout = 30000)]
    public async Task APacketLostOnTheUplinkIsRepairedByRtxAndForwardedInItsPlace()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var count = 0;
        var dropped = new List<ushort>();
        alice.AnswerNacks = true;
        alice.DropVideo = s =>
        {
            if (++count % 10 == 5)
            {
                dropped.Add(s);
                return true;
            }

            return false;
        };
        var media = new ClockedMedia(clock, alice);
        await media.RunUntilAsync(() => HasReceived(bob, alice, 10, 60), TimeSpan.FromSeconds(5), "60 video packets at bob");
        var video = TracksFrom(bob, alice).Video;
        await media.RunUntilAsync(
            () => dropped.All(s => bob.StreamOf(video.Ssrc).Snapshot().Any(p => SyntheticPeer.SignatureOf(p.Payload).Sequence == s)),
            TimeSpan.FromSeconds(1),
            "every dropped packet at bob after its repair");

        var packets = bob.StreamOf(video.Ssrc).Snapshot().OrderBy(p => p.Sequence - bob.StreamOf(video.Ssrc).Snapshot()[0].Sequence & 0xFFFF).ToList();
        for (var i = 1; i < packets.Count; i++)
        {
            Assert.Equal((ushort)(packets[i - 1].Sequence + 1), packets[i].Sequence);
            Assert.Equal((ushort)(SyntheticPeer.SignatureOf(packets[i - 1].Payload).Sequence + 1), SyntheticPeer.SignatureOf(packets[i].Payload).Sequence);
        }

        Assert.All(packets, p => Assert.Equal(alice.SentPayloads[SyntheticPeer.SignatureOf(p.Payload)], p.Payload));
        Assert.True(alice.Peer.Producers.Sum(p => p.RepairsReceived) >= dropped.Count(s => packets.Any(p => SyntheticPeer.SignatureOf(p.Payload).Sequence == s)));
    }

    [Fact(Timeout = 30000)]
    public async Task ASubscribersNackIsAnsweredFromTheBufferOnTheRtxSsrcWithTheOriginalSequenceNumber()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var video = TracksFrom(bob, alice).Video;
        Assert.NotNull(video.RtxSsrc);
        Assert.Equal(97, video.Codec.RtxPayloadType);
        Assert.Contains(bob.LastSubscribeOffer!.Media[1].Attributes, a => a.Name == "ssrc-group" && a.Value == $"FID {video.Ssrc} {video.RtxSsrc}");
        var media = new ClockedMedia(clock, alice);
        await media.RunUntilAsync(() => HasReceived(bob, alice, 10, 20), TimeSpan.FromSeconds(5), "20 video packets at bob");
        var sent = bob.StreamOf(video.Ssrc).Snapshot();
        // A frame (one packet) every 33 ms: on the relay's clock the first three are within the buffer's window (450 ms
        // until the subscriber's reports give its round trip), the fourth, about 530 ms old, is not.
        var wanted = new[] { sent[^11], sent[^7], sent[^1] };
        var tooOld = sent[^17];
        var nack = new byte[64];
        await SendRtcpAsync(bob, nack, GenericNack.Write(nack, 0x5EED, video.Ssrc, [.. wanted.Select(p => p.Sequence), tooOld.Sequence]));
        Assert.Equal(3, bob.Peer.Retransmissions);

        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.RtxSsrc!.Value).Count >= 3, StepTimeout, "three retransmissions on the RTX SSRC");
        var rtx = bob.StreamOf(video.RtxSsrc!.Value).Snapshot();
        Assert.All(rtx, p => Assert.Equal(97, p.PayloadType));
        Assert.Equal(wanted.Select(p => p.Sequence), rtx.Select(p => BinaryPrimitives.ReadUInt16BigEndian(p.Payload)));
        Assert.Equal(wanted.Select(p => p.Payload), rtx.Select(p => p.Payload[2..]));
        Assert.Equal(wanted.Select(p => p.Timestamp), rtx.Select(p => p.Timestamp));

        // A second later on the relay's clock the buffer no longer has them.
        await media.RunAsync(TimeSpan.FromSeconds(1.1));
        await SendRtcpAsync(bob, nack, GenericNack.Write(nack, 0x5EED, video.Ssrc, [wanted[0].Sequence]));
        Assert.Equal(3, bob.Peer.Retransmissions);

        // Its Sender Report covers the RTX SSRC too (every outgoing SSRC, RFC 3550 §6.1).
        bob.SenderReports.Clear();
        relay.Relay.Housekeeping();
        await RelayHarness.WaitUntilAsync(() => bob.SenderReports.ContainsKey(video.RtxSsrc!.Value), StepTimeout, "an SR for the RTX SSRC");
    }

    [Fact(Timeout = 40000)]
    public async Task TheSubscribersEstimateChoosesTheLayerSwitchesAreContinuousAndItFallsBackToAudioOnlyAndBack()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        using var call = await SimulcastCall.StartAsync(relay, clock, "bob"); // no estimate yet: the best layer
        var (simulcast, bob, video, media) = (call.Publisher, call.Subscribers[0], call.Video, call.Media);
        var audio = TracksFrom(bob, simulcast).Audio;
        await media.RunAsync(TimeSpan.FromSeconds(1));

        // A high estimate, then a fall that leaves room for the middle layer only (rates ≈ 40/110/240 kbit/s + audio).
        await SendRembAsync(bob, video.Ssrc, 2_000_000);
        await media.RunAsync(TimeSpan.FromMilliseconds(100));
        await SendRembAsync(bob, video.Ssrc, 210_000);
        Assert.Equal(1, bob.Peer.Consumers.Single(c => c.Parameters.Kind == MediaKind.Video).TargetEncoding);
        await media.RunUntilAsync(
            () => LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 1,
            TimeSpan.FromSeconds(1),
            () => $"the half layer after the fall (receiving layer {LayerOf(simulcast, bob.StreamOf(video.Ssrc))}, relay forwards {string.Join(',', bob.Peer.ReceivedEncodings.Values)}, estimate {bob.Peer.EstimatedReceiveBitrate}, layer rates {string.Join('/', simulcast.Peer.Producers.Single(p => p.Kind == MediaKind.Video) is var v ? Enumerable.Range(0, 3).Select(v.GetEncodingBitrate) : [])}, audio {simulcast.Peer.Producers.Single(p => p.Kind == MediaKind.Audio).GetEncodingBitrate(0)})");

        // Far below the lowest layer, once the last fall has settled (2 s): audio only at once; the audio goes on.
        await media.RunAsync(TimeSpan.FromSeconds(2.1));
        await SendRembAsync(bob, video.Ssrc, 20_000);
        Assert.Equal(Consumer.Paused, bob.Peer.Consumers.Single(c => c.Parameters.Kind == MediaKind.Video).CurrentEncoding);
        await media.RunAsync(TimeSpan.FromMilliseconds(100));
        var videoCount = bob.StreamOf(video.Ssrc).Count;
        var audioCount = bob.StreamOf(audio.Ssrc).Count;
        await media.RunAsync(TimeSpan.FromMilliseconds(600)); // 30 audio packets
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(audio.Ssrc).Count >= audioCount + 29, StepTimeout, "audio goes on in audio-only");
        Assert.Equal(videoCount, bob.StreamOf(video.Ssrc).Count);

        // Room again: video comes back, on the lowest layer first (then up a layer a second, as the estimate allows).
        var resumeAt = bob.StreamOf(video.Ssrc).Count;
        await SendRembAsync(bob, video.Ssrc, 400_000);
        await media.RunUntilAsync(() => bob.StreamOf(video.Ssrc).Count > resumeAt + 10, TimeSpan.FromSeconds(2), "video back");
        var resumed = bob.StreamOf(video.Ssrc).Snapshot()[resumeAt];
        Assert.Equal(simulcast.LayerSsrcs[0], SyntheticPeer.SignatureOf(resumed.Payload).Ssrc);
        Assert.True(resumed.IsVp8KeyFrame, "video resumes on a keyframe");

        // One stream to the subscriber: gap-free sequence numbers, rising timestamps, PictureID +1 per frame, every
        // switch on a keyframe of the new layer.
        var packets = bob.StreamOf(video.Ssrc).Snapshot();
        AssertContinuous(packets);
        var layers = 0;
        for (var i = 1; i < packets.Count; i++)
        {
            Assert.True((int)(packets[i].Timestamp - packets[i - 1].Timestamp) > 0, $"timestamp goes back at packet {i}");
            Assert.True(Vp8PayloadDescriptor.TryRead(packets[i].Payload, out var descriptor));
            Assert.True(Vp8PayloadDescriptor.TryRead(packets[i - 1].Payload, out var previous));
            Assert.Equal((previous.PictureId + 1) & 0x7FFF, descriptor.PictureId);
            if (SyntheticPeer.SignatureOf(packets[i].Payload).Ssrc != SyntheticPeer.SignatureOf(packets[i - 1].Payload).Ssrc)
            {
                layers++;
                Assert.True(packets[i].IsVp8KeyFrame, $"the switch at packet {i} is on a keyframe");
            }
        }

        output.WriteLine($"{packets.Count} video packets, {layers} layer switches in the stream");
        Assert.True(layers >= 2, "full → half → (audio only) → low");
        Assert.True(packets[0].IsVp8KeyFrame);
    }

    [Fact(Timeout = 40000)]
    public async Task ASubscriberMovedOffALayerThePublisherPausedGoesStraightBackWhenItResumes()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        using var call = await SimulcastCall.StartAsync(relay, clock, "bob");
        var (simulcast, bob, video, media) = (call.Publisher, call.Subscribers[0], call.Video, call.Media);

        // The subscriber's first estimate is still low (REMB ramps up from its start value) but it never fell: the
        // full layer stays (rates ≈ 40/110/240 kbit/s + audio, so only the lowest layer fits the estimate).
        await SendRembAsync(bob, video.Ssrc, 100_000);
        await media.RunAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(2, bob.Peer.Consumers.Single(c => c.Parameters.Kind == MediaKind.Video).TargetEncoding);
        Assert.Equal(2, LayerOf(simulcast, bob.StreamOf(video.Ssrc)));

        // The publisher's encoder turns its top layer off (its own estimate is short): the subscriber gets what fits,
        // once the layer counts as off (a second without a packet) at the next allocation.
        var pausedAt = bob.StreamOf(video.Ssrc).Count;
        simulcast.LayerEnabled[2] = false;
        await media.RunUntilAsync(() => LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 0, TimeSpan.FromSeconds(3), "the lowest layer while the top one is paused");

        // It comes back: so does the subscriber, in one step, not by probing up a layer at a time.
        simulcast.LayerEnabled[2] = true;
        await media.RunUntilAsync(() => LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 2, TimeSpan.FromSeconds(2), "the full layer again");
        var layers = bob.StreamOf(video.Ssrc).Snapshot().Skip(pausedAt - 1)
            .Select(p => Array.IndexOf(simulcast.LayerSsrcs, SyntheticPeer.SignatureOf(p.Payload).Ssrc))
            .ToList();
        var sequence = layers.Where((layer, i) => i == 0 || layer != layers[i - 1]).ToList();
        Assert.Equal([2, 0, 2], sequence);
        AssertContinuous(bob.StreamOf(video.Ssrc).Snapshot());
    }

    [Fact(Timeout = 40000)]
    public async Task ASubscriberShowingTheVideoSmallGetsOnlyTheLayerThatCoversItAndTheFullOneAgainWhenItGrows()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        using var call = await SimulcastCall.StartAsync(relay, clock, "bob");
        var (simulcast, bob, video, media) = (call.Publisher, call.Subscribers[0], call.Video, call.Media);
        var layer = () => LayerOf(simulcast, bob.StreamOf(video.Ssrc));
        await SendRembAsync(bob, video.Ssrc, 2_000_000); // the link carries every layer
        var producer = simulcast.Peer.Producers.Single(p => p.Kind == MediaKind.Video);
        Assert.Equal([(160, 120), (320, 240), (640, 480)], Enumerable.Range(0, 3).Select(i => (producer.GetEncodingSize(i).Width, producer.GetEncodingSize(i).Height)));

        // Out-of-range sizes and streams bob does not receive change nothing.
        Assert.False(bob.Peer.SetViewSize("alice", -160, 120));
        Assert.False(bob.Peer.SetViewSize("alice", 0, 120));
        Assert.False(bob.Peer.SetViewSize("alice", 100_000, 120));
        Assert.False(bob.Peer.SetViewSize("carol", 160, 120));
        Assert.Null(bob.Peer.GetViewSize("alice"));

        // Bob's page shows alice in a 150×110 tile: the quarter layer (160×120) covers it. The full layer goes on until
        // the quarter layer's keyframe, then only the quarter layer's packets come, however long the link would carry more.
        var shrunkAt = bob.StreamOf(video.Ssrc).Count;
        Assert.True(bob.Peer.SetViewSize("alice", 150, 110));
        await media.RunUntilAsync(() => layer() == 0, TimeSpan.FromSeconds(1), () => $"the quarter layer for a small tile (on {layer()})");
        await media.RunAsync(TimeSpan.FromSeconds(3)); // housekeeping and probe holds pass
        await SendRembAsync(bob, video.Ssrc, 2_000_000);
        await media.RunAsync(TimeSpan.FromSeconds(1));
        var capped = bob.StreamOf(video.Ssrc).Snapshot().Skip(shrunkAt).Select(p => Array.IndexOf(simulcast.LayerSsrcs, SyntheticPeer.SignatureOf(p.Payload).Ssrc)).ToList();
        var switchedAt = capped.IndexOf(0);
        Assert.All(capped.Take(switchedAt), l => Assert.Equal(2, l));
        Assert.All(capped.Skip(switchedAt), l => Assert.Equal(0, l));
        Assert.True(capped.Count - switchedAt > 100, $"{capped.Count - switchedAt} packets of the quarter layer");
        Assert.True(bob.StreamOf(video.Ssrc).Snapshot()[shrunkAt + switchedAt].IsVp8KeyFrame, "the switch is on a keyframe");
        Assert.Equal((150, 110), bob.Peer.GetViewSize("alice"));

        // The tile grows to 640×480: back up to the full layer, a layer at a time, numbering continuous throughout.
        Assert.True(bob.Peer.SetViewSize("alice", 640, 480));
        await media.RunUntilAsync(() => layer() == 2, TimeSpan.FromSeconds(3), () => $"the full layer for a large tile (on {layer()})");
        AssertContinuous(bob.StreamOf(video.Ssrc).Snapshot());
    }

    [Fact(Timeout = 60000)]
    public async Task CongestionLossMovesTheSubscriberToWhatGotThroughAStaleEstimateCannotUndoItAndAClimbTheNacksShowFailingIsUndone()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        using var call = await SimulcastCall.StartAsync(relay, clock, "bob");
        var (simulcast, bob, video, media) = (call.Publisher, call.Subscribers[0], call.Video, call.Media);
        var consumer = bob.Peer.Consumers.Single(c => c.Parameters.Kind == MediaKind.Video);
        var layer = () => LayerOf(simulcast, bob.StreamOf(video.Ssrc));

        // The browser's REMB stays high and never falls (as behind a full token bucket: constant queueing delay).
        await SendRembAsync(bob, video.Ssrc, 2_000_000);
        var reports = new LossReporter(bob, video.Ssrc);
        await reports.SendAsync(0);
        await media.RunAsync(TimeSpan.FromSeconds(2.1)); // the full layer flows for more than a report window

        // A second with 70 % of the full layer lost (rates ≈ 40/110/240 kbit/s + audio): what got through fits the
        // lowest layer only, and the subscriber is moved there at once.
        await reports.SendAsync(0.7);
        Assert.Equal(0, consumer.TargetEncoding);
        var bound = bob.Peer.LossBasedReceiveBound;
        Assert.InRange(bound, 40_000, 110_000);
        await media.RunUntilAsync(() => layer() == 0, TimeSpan.FromSeconds(1), () => $"the lowest layer after congestion loss (on {layer()}, bound {bob.Peer.LossBasedReceiveBound})");

        // The unchanged REMB would fit the full layer: it does not take the subscriber back onto the congested link.
        for (var i = 0; i < 3; i++)
        {
            await SendRembAsync(bob, video.Ssrc, 2_000_000);
            await media.RunAsync(TimeSpan.FromMilliseconds(400));
            Assert.Equal(0, consumer.TargetEncoding);
        }

        // Clean report windows, a second apart: the bound grows, faster with each, and the subscriber climbs again.
        // Looked at every step, so that the climb fails below before a clean window on the new layer could vouch for it.
        var climbed = false;
        for (var i = 0; i < 20 && !climbed; i++)
        {
            await reports.SendAsync(0);
            for (var step = 0; step < 105 && !climbed; step++)
            {
                await media.StepAsync();
                climbed = consumer.CurrentEncoding >= 1;
            }
        }

        Assert.True(climbed, $"back up a layer after clean windows (bound {bob.Peer.LossBasedReceiveBound})");
        Assert.True(bob.Peer.LossBasedReceiveBound > bound, "the bound grew");
        await RelayHarness.WaitUntilAsync(() => layer() >= 1, StepTimeout, "the higher layer at bob");

        // The climb fails, and the subscriber's NACKs say so (a third of the new layer) long before a report window
        // could: back to the lowest layer within the climb watch (2 s), with no report at all, and video goes on there.
        var nack = new byte[64];
        var nacked = new HashSet<ushort>();
        var sinceClimb = bob.StreamOf(video.Ssrc).Count - 1;
        var watched = TimeSpan.Zero;
        while (consumer.TargetEncoding != 0 && watched < TimeSpan.FromSeconds(2))
        {
            // Every third packet since the climb: a third of the new layer.
            foreach (var packet in bob.StreamOf(video.Ssrc).Snapshot().Skip(sinceClimb).Where(p => p.Sequence % 3 == 0 && nacked.Add(p.Sequence)))
            {
                await SendRtcpAsync(bob, nack, GenericNack.Write(nack, 0x5EED, video.Ssrc, [packet.Sequence]));
            }

            await media.RunAsync(TimeSpan.FromMilliseconds(30));
            watched += TimeSpan.FromMilliseconds(30);
        }

        output.WriteLine($"the NACKed climb went back after {watched.TotalMilliseconds} ms of the relay's clock ({nacked.Count} NACKs)");
        Assert.Equal(0, consumer.TargetEncoding);
        Assert.Equal(1, bob.Peer.ClimbsFailed);
        await media.RunUntilAsync(() => layer() == 0, TimeSpan.FromSeconds(1), "the lowest layer again at bob");
        var count = bob.StreamOf(video.Ssrc).Count;
        await media.RunAsync(TimeSpan.FromSeconds(1));
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.Ssrc).Count > count + 25, StepTimeout, "video goes on (not audio only)");
        Assert.Equal(0, layer());
        AssertContinuous(bob.StreamOf(video.Ssrc).Snapshot());
    }

    [Fact(Timeout = 30000)]
    public async Task NacksForALayerTheSubscriberWasMovedOffAreNotAnsweredThoseForItsLayerAre()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        using var call = await SimulcastCall.StartAsync(relay, clock, "bob", "carol"); // carol stays on the full layer: it stays in the buffer
        var (simulcast, bob, video, media) = (call.Publisher, call.Subscribers[0], call.Video, call.Media);
        var nack = new byte[64];
        var onFull = bob.StreamOf(video.Ssrc).Snapshot()[^1];
        await SendRtcpAsync(bob, nack, GenericNack.Write(nack, 0x5EED, video.Ssrc, [onFull.Sequence]));
        Assert.Equal(1, bob.Peer.Retransmissions);
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.RtxSsrc!.Value).Count >= 1, StepTimeout, "the repair of a packet of the layer bob is on");

        // A falling estimate moves bob to the lowest layer.
        await SendRembAsync(bob, video.Ssrc, 2_000_000);
        await media.RunAsync(TimeSpan.FromMilliseconds(100));
        await SendRembAsync(bob, video.Ssrc, 100_000); // room for the lowest layer and audio
        await media.RunUntilAsync(() => LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 0, TimeSpan.FromSeconds(1), "the lowest layer");
        await media.RunAsync(TimeSpan.FromMilliseconds(100));
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.Ssrc).Snapshot() is var p && p.Count > 1 && LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 0 && Array.IndexOf(simulcast.LayerSsrcs, SyntheticPeer.SignatureOf(p[^2].Payload).Ssrc) == 0, StepTimeout, "two packets of the lowest layer at bob");
        var packets = bob.StreamOf(video.Ssrc).Snapshot();
        var full = packets.Last(p => Array.IndexOf(simulcast.LayerSsrcs, SyntheticPeer.SignatureOf(p.Payload).Ssrc) == 2); // still in the buffer (a second)
        var low = packets[^2];

        await SendRtcpAsync(bob, nack, GenericNack.Write(nack, 0x5EED, video.Ssrc, [full.Sequence]));
        await SendRtcpAsync(bob, nack, GenericNack.Write(nack, 0x5EED, video.Ssrc, [low.Sequence]));
        Assert.Equal(2, bob.Peer.Retransmissions); // the low layer's only
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.RtxSsrc!.Value).Count >= 2, StepTimeout, "the repair of the current layer's packet");
        var repaired = bob.StreamOf(video.RtxSsrc!.Value).Snapshot().Skip(1).Select(p => BinaryPrimitives.ReadUInt16BigEndian(p.Payload)).ToList();
        output.WriteLine($"NACKed {full.Sequence} (left layer) and {low.Sequence}; repaired {string.Join(", ", repaired)}");
        Assert.Equal([low.Sequence], repaired);
    }

    [Fact(Timeout = 30000)]
    public async Task ThePublishersAudioLevelMakesItTheActiveSpeaker()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        var changes = new List<string?>();
        relay.Router.ActiveSpeakerChanged += (_, peer) => changes.Add(peer?.Id);
        alice.AudioLevelToSend = 30;
        bob.AudioLevelToSend = 127;
        for (var i = 0; i < 5; i++)
        {
            alice.SendAudio();
            bob.SendAudio();
        }

        await RelayHarness.WaitUntilAsync(() => alice.Peer.AudioLevel == 30 && bob.Peer.AudioLevel == 127, StepTimeout, "levels at the relay");
        relay.Router.UpdateActiveSpeaker();
        Assert.Same(alice.Peer, relay.Router.ActiveSpeaker);

        // Bob speaks up, louder by more than the margin: he takes over.
        bob.AudioLevelToSend = 10;
        alice.AudioLevelToSend = 50;
        for (var i = 0; i < 5; i++)
        {
            alice.SendAudio();
            bob.SendAudio();
        }

        await RelayHarness.WaitUntilAsync(() => bob.Peer.AudioLevel == 10, StepTimeout, "bob's level");
        relay.Router.UpdateActiveSpeaker();
        Assert.Same(bob.Peer, relay.Router.ActiveSpeaker);
        Assert.Equal(["alice", "bob"], changes);
    }

    [Fact(Timeout = 30000)]
    public async Task H264IsForwardedUnderTheSubscribersPayloadTypeStartingOnAnIdrAndRepairedLikeVp8()
    {
        using var relay = await RelayHarness.StartAsync();
        var alicePeer = relay.Router.GetOrAddPeer("alice");
        alicePeer.Admit();
        using var alice = new SyntheticPeer("alice", alicePeer, IceTransportProtocol.Udp, h264: true);
        await alice.PublishAsync();
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var video = TracksFrom(bob, alice).Video;
        Assert.True(video.Codec.IsCodec("H264"));
        Assert.Equal(102, video.Codec.PayloadType);
        Assert.Equal(103, video.Codec.RtxPayloadType);
        Assert.Contains("packetization-mode=1", video.Codec.Fmtp, StringComparison.Ordinal);

        alice.StartSending();
        await RelayHarness.WaitUntilAsync(() => HasReceived(bob, alice, 10, 20), StepTimeout, "H.264 at bob");
        alice.StopSending();
        var packets = bob.StreamOf(video.Ssrc).Snapshot();
        AssertContinuous(packets);
        Assert.True(H264Payload.IsKeyframe(packets[0].Payload), "starts on an IDR");
        Assert.All(packets, p =>
        {
            Assert.Equal(102, p.PayloadType);
            Assert.Equal(alice.SentPayloads[SyntheticPeer.SignatureOf(p.Payload)], p.Payload);
        });

        var nack = new byte[64];
        Assert.True(bob.SendSubscribeRtcp(nack.AsSpan(0, GenericNack.Write(nack, 0x5EED, video.Ssrc, [packets[^3].Sequence]))));
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.RtxSsrc!.Value).Count == 1, StepTimeout, "the H.264 retransmission");
        var rtx = bob.StreamOf(video.RtxSsrc!.Value).Snapshot()[0];
        Assert.Equal(103, rtx.PayloadType);
        Assert.Equal(packets[^3].Payload, rtx.Payload[2..]);
    }

    /// <summary>Which layer (0 = q) the last packets of a stream came from, by the publisher's signature.</summary>
    private static int LayerOf(SyntheticPeer publisher, ReceivedStream stream)
    {
        var packets = stream.Snapshot();
        if (packets.Count == 0)
        {
            return -1;
        }

        return Array.IndexOf(publisher.LayerSsrcs, SyntheticPeer.SignatureOf(packets[^1].Payload).Ssrc);
    }

    /// <summary>
    /// A simulcast publisher (alice, three layers) sending on the relay's clock for 1.2 s, so the relay knows each layer's
    /// rate, then the subscribers, the first of them receiving the full layer (no estimate yet). The media goes on as the
    /// test lets time pass (<see cref="Media"/>).
    /// </summary>
    private sealed record SimulcastCall(SyntheticPeer Publisher, SyntheticPeer[] Subscribers, RelayTrack Video, ClockedMedia Media) : IDisposable
    {
        public static async Task<SimulcastCall> StartAsync(RelayHarness relay, FakeTimeProvider clock, params string[] subscriberIds)
        {
            var alice = relay.Join("alice", IceTransportProtocol.Udp);
            var publisher = new SyntheticPeer("alice", alice.Peer, IceTransportProtocol.Udp, simulcast: true);
            await publisher.PublishAsync();
            var subscribers = subscriberIds.Select(id => relay.Join(id, IceTransportProtocol.Udp)).ToArray();
            var media = new ClockedMedia(clock, publisher);
            await media.RunAsync(TimeSpan.FromSeconds(1.2));
            foreach (var subscriber in subscribers)
            {
                await subscriber.SubscribeAsync();
            }

            var video = TracksFrom(subscribers[0], publisher).Video;
            await media.RunUntilAsync(() => LayerOf(publisher, subscribers[0].StreamOf(video.Ssrc)) == 2, TimeSpan.FromSeconds(1), "the full layer at first");
            return new SimulcastCall(publisher, subscribers, video, media);
        }

        public void Dispose() => Publisher.Dispose();
    }

    /// <summary>
    /// Receiver Reports from a subscriber for one stream, with the cumulative loss it chooses: each report claims that
    /// share of what arrived since the last one as lost (RFC 3550 §6.4.1 cumulative lost, extended highest sequence).
    /// </summary>
    private sealed class LossReporter(SyntheticPeer subscriber, uint ssrc)
    {
        private uint _highest;
        private int _lost;

        public Task SendAsync(double lossShare)
        {
            var packets = subscriber.StreamOf(ssrc).Snapshot();
            var highest = packets.Count == 0 ? 0u : 0x10000u + packets[^1].Sequence;
            if (_highest != 0 && highest > _highest)
            {
                _lost += (int)((highest - _highest) * lossShare);
            }

            _highest = highest;
            var fraction = (byte)Math.Min(255, lossShare * 256);
            var buffer = new byte[64];
            return SendRtcpAsync(subscriber, buffer, ReceiverReport.Write(buffer, 0x5EED, [new ReportBlock(ssrc, fraction, _lost, highest, 0, 0, 0)]));
        }
    }

    private static Task SendRembAsync(SyntheticPeer subscriber, uint ssrc, ulong bitrate)
    {
        var buffer = new byte[64];
        return SendRtcpAsync(subscriber, buffer, ReceiverEstimatedMaxBitrate.Write(buffer, 0x5EED, bitrate, [ssrc]));
    }

    /// <summary>Sends RTCP on the subscriber's connection and waits until the relay has acted on it, at the relay's time now.</summary>
    private static async Task SendRtcpAsync(SyntheticPeer subscriber, byte[] buffer, int length)
    {
        var before = subscriber.Peer.SubscribeRtcpReceived;
        Assert.True(subscriber.SendSubscribeRtcp(buffer.AsSpan(0, length)));
        await ClockedMedia.ArrivedAsync(() => subscriber.Peer.SubscribeRtcpReceived > before, "the RTCP at the relay");
    }
}
