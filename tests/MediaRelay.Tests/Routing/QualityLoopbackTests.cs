using System.Diagnostics;
using System.Buffers.Binary;
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
/// numbering, audio-only fallback and back, and the audio level behind the active-speaker hint.
/// </summary>
public sealed class QualityLoopbackTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepTimeout = SyntheticPeer.StepTimeout;

    [Fact(Timeout = 30000)]
    public async Task ThePublisherGetsTransportWideFeedbackNacksForItsGapsAndReceiverReports()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var first = (ushort)0;
        var dropped = new HashSet<ushort>();
        alice.DropVideo = s =>
        {
            // Two single losses and a burst of three, in the middle of the run.
            var index = (ushort)(s - first);
            return index is 20 or 41 or 60 or 61 or 62 && dropped.Add(s);
        };

        for (var i = 0; i < 100; i++)
        {
            if (i == 0)
            {
                var probe = new byte[1500];
                alice.WriteVideoFrame(probe);
                first = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(probe.AsSpan(2)) + 1);
            }

            alice.SendVideoFrame();
            await Task.Delay(4);
        }

        var last = (ushort)(first + 99);
        relay.Relay.Housekeeping(); // the tail of the burst: no later packet triggers its feedback
        await RelayHarness.WaitUntilAsync(() => alice.FeedbackStatuses.ContainsKey(last), StepTimeout, "feedback up to the last packet");
        output.WriteLine($"{alice.FeedbackPackets} feedback packets for 100 packets in ~0.5 s; NACKed {string.Join(',', alice.Nacked.Distinct().Select(s => (ushort)(s - first)))}");
        Assert.True(alice.FeedbackPackets >= 3, $"feedback every ~50 ms, not once ({alice.FeedbackPackets})");
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

        relay.Relay.Housekeeping();
        await RelayHarness.WaitUntilAsync(() => alice.ReceiverReportBlocks.Any(b => b.Ssrc == alice.VideoSsrc), StepTimeout, "a Receiver Report for the video SSRC");
        var block = alice.ReceiverReportBlocks.Last(b => b.Ssrc == alice.VideoSsrc);
        Assert.Equal(last, (ushort)block.ExtendedHighestSequence);
        Assert.Equal(dropped.Count, block.CumulativeLost);
        // Housekeeping's own timer may have reported part of the run already: some block of the run shows the loss.
        Assert.Contains(alice.ReceiverReportBlocks, b => b.Ssrc == alice.VideoSsrc && b.FractionLost > 0);
    }

    [Fact(Timeout = 30000)]
    public async Task APacketLostOnTheUplinkIsRepairedByRtxAndForwardedInItsPlace()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var repairsBefore = RelayMetrics.RepairsReceived.Value;
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
        alice.StartSending();
        await RelayHarness.WaitUntilAsync(() => HasReceived(bob, alice, 10, 60), StepTimeout, "60 video packets at bob");
        alice.StopSending();
        var video = TracksFrom(bob, alice).Video;
        await RelayHarness.WaitUntilAsync(() => dropped.All(s => bob.StreamOf(video.Ssrc).Snapshot().Any(p => SyntheticPeer.SignatureOf(p.Payload).Sequence == s)), StepTimeout, "every dropped packet at bob after its repair");

        var packets = bob.StreamOf(video.Ssrc).Snapshot().OrderBy(p => p.Sequence - bob.StreamOf(video.Ssrc).Snapshot()[0].Sequence & 0xFFFF).ToList();
        for (var i = 1; i < packets.Count; i++)
        {
            Assert.Equal((ushort)(packets[i - 1].Sequence + 1), packets[i].Sequence);
            Assert.Equal((ushort)(SyntheticPeer.SignatureOf(packets[i - 1].Payload).Sequence + 1), SyntheticPeer.SignatureOf(packets[i].Payload).Sequence);
        }

        Assert.All(packets, p => Assert.Equal(alice.SentPayloads[SyntheticPeer.SignatureOf(p.Payload)], p.Payload));
        Assert.True(RelayMetrics.RepairsReceived.Value - repairsBefore >= dropped.Count);
    }

    [Fact(Timeout = 30000)]
    public async Task ASubscribersNackIsAnsweredFromTheBufferOnTheRtxSsrcWithTheOriginalSequenceNumber()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var video = TracksFrom(bob, alice).Video;
        Assert.NotNull(video.RtxSsrc);
        Assert.Equal(97, video.Codec.RtxPayloadType);
        Assert.Contains(bob.LastSubscribeOffer!.Media[1].Attributes, a => a.Name == "ssrc-group" && a.Value == $"FID {video.Ssrc} {video.RtxSsrc}");
        alice.StartSending();
        await RelayHarness.WaitUntilAsync(() => HasReceived(bob, alice, 10, 20), StepTimeout, "20 video packets at bob");
        alice.StopSending();
        var sent = bob.StreamOf(video.Ssrc).Snapshot();
        // Recent ones: the buffer answers for a second, and a loaded machine may take that long to deliver the first 20.
        var wanted = new[] { sent[^8], sent[^7], sent[^1] };
        var before = RelayMetrics.Retransmissions.Value;
        var nack = new byte[64];
        Assert.True(bob.SendSubscribeRtcp(nack.AsSpan(0, GenericNack.Write(nack, 0x5EED, video.Ssrc, wanted.Select(p => p.Sequence).ToArray()))));

        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.RtxSsrc!.Value).Count >= 3, StepTimeout, "three retransmissions on the RTX SSRC");
        var rtx = bob.StreamOf(video.RtxSsrc!.Value).Snapshot();
        Assert.All(rtx, p => Assert.Equal(97, p.PayloadType));
        Assert.Equal(wanted.Select(p => p.Sequence), rtx.Select(p => BinaryPrimitives.ReadUInt16BigEndian(p.Payload)));
        Assert.Equal(wanted.Select(p => p.Payload), rtx.Select(p => p.Payload[2..]));
        Assert.Equal(wanted.Select(p => p.Timestamp), rtx.Select(p => p.Timestamp));
        Assert.Equal(3, RelayMetrics.Retransmissions.Value - before);

        // Its Sender Report covers the RTX SSRC too (every outgoing SSRC, RFC 3550 §6.1).
        bob.SenderReports.Clear();
        relay.Relay.Housekeeping();
        await RelayHarness.WaitUntilAsync(() => bob.SenderReports.ContainsKey(video.RtxSsrc!.Value), StepTimeout, "an SR for the RTX SSRC");
    }

    [Fact(Timeout = 40000)]
    public async Task TheSubscribersEstimateChoosesTheLayerSwitchesAreContinuousAndItFallsBackToAudioOnlyAndBack()
    {
        using var relay = await RelayHarness.StartAsync();
        using var call = await SimulcastCall.StartAsync(relay, "bob"); // no estimate yet: the best layer
        var (simulcast, bob, video) = (call.Publisher, call.Subscribers[0], call.Video);
        var audio = TracksFrom(bob, simulcast).Audio;
        await Task.Delay(1000);

        // A high estimate, then a fall that leaves room for the middle layer only (rates ≈ 40/110/240 kbit/s + audio).
        SendRemb(bob, video.Ssrc, 2_000_000);
        await Task.Delay(100);
        SendRemb(bob, video.Ssrc, 210_000);
        await RelayHarness.WaitUntilAsync(
            () => LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 1,
            StepTimeout,
            () => $"the half layer after the fall (receiving layer {LayerOf(simulcast, bob.StreamOf(video.Ssrc))}, relay forwards {string.Join(',', bob.Peer.ReceivedEncodings.Values)}, estimate {bob.Peer.EstimatedReceiveBitrate}, layer rates {string.Join('/', simulcast.Peer.Producers.Single(p => p.Kind == MediaKind.Video) is var v ? Enumerable.Range(0, 3).Select(v.GetEncodingBitrate) : [])}, audio {simulcast.Peer.Producers.Single(p => p.Kind == MediaKind.Audio).GetEncodingBitrate(0)})");

        // Far below the lowest layer: audio only; the audio goes on.
        await Task.Delay(2100);
        SendRemb(bob, video.Ssrc, 20_000);
        await Task.Delay(600);
        var videoCount = bob.StreamOf(video.Ssrc).Count;
        var audioCount = bob.StreamOf(audio.Ssrc).Count;
        await Task.Delay(600);
        Assert.True(bob.StreamOf(video.Ssrc).Count <= videoCount + 1, "no video in audio-only");
        Assert.True(bob.StreamOf(audio.Ssrc).Count >= audioCount + 20, "audio goes on in audio-only");

        // Room again: video comes back, on the lowest layer first (then up a layer a second, as the estimate allows).
        var resumeAt = bob.StreamOf(video.Ssrc).Count;
        SendRemb(bob, video.Ssrc, 400_000);
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.Ssrc).Count > resumeAt + 10, StepTimeout, "video back");
        var resumed = bob.StreamOf(video.Ssrc).Snapshot()[resumeAt];
        Assert.Equal(simulcast.LayerSsrcs[0], SyntheticPeer.SignatureOf(resumed.Payload).Ssrc);
        Assert.True(resumed.IsVp8KeyFrame, "video resumes on a keyframe");
        simulcast.StopSending();

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
        using var relay = await RelayHarness.StartAsync();
        using var call = await SimulcastCall.StartAsync(relay, "bob");
        var (simulcast, bob, video) = (call.Publisher, call.Subscribers[0], call.Video);

        // The subscriber's first estimate is still low (REMB ramps up from its start value) but it never fell: the
        // full layer stays (rates ≈ 40/110/240 kbit/s + audio, so only the lowest layer fits the estimate).
        SendRemb(bob, video.Ssrc, 100_000);
        await Task.Delay(500);
        Assert.Equal(2, LayerOf(simulcast, bob.StreamOf(video.Ssrc)));

        // The publisher's encoder turns its top layer off (its own estimate is short): the subscriber gets what fits.
        var pausedAt = bob.StreamOf(video.Ssrc).Count;
        simulcast.LayerEnabled[2] = false;
        await RelayHarness.WaitUntilAsync(() => LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 0, StepTimeout, "the lowest layer while the top one is paused");

        // It comes back: so does the subscriber, in one step, not by probing up a layer at a time.
        simulcast.LayerEnabled[2] = true;
        await RelayHarness.WaitUntilAsync(() => LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 2, StepTimeout, "the full layer again");
        simulcast.StopSending();
        var layers = bob.StreamOf(video.Ssrc).Snapshot().Skip(pausedAt - 1)
            .Select(p => Array.IndexOf(simulcast.LayerSsrcs, SyntheticPeer.SignatureOf(p.Payload).Ssrc))
            .ToList();
        var sequence = layers.Where((layer, i) => i == 0 || layer != layers[i - 1]).ToList();
        Assert.Equal([2, 0, 2], sequence);
        AssertContinuous(bob.StreamOf(video.Ssrc).Snapshot());
    }

    [Fact(Timeout = 90000)]
    public async Task CongestionLossMovesTheSubscriberToWhatGotThroughAStaleEstimateCannotUndoItAndAClimbTheNacksShowFailingIsUndone()
    {
        using var relay = await RelayHarness.StartAsync();
        using var call = await SimulcastCall.StartAsync(relay, "bob");
        var (simulcast, bob, video) = (call.Publisher, call.Subscribers[0], call.Video);
        var layer = () => LayerOf(simulcast, bob.StreamOf(video.Ssrc));

        // The browser's REMB stays high and never falls (as behind a full token bucket: constant queueing delay).
        SendRemb(bob, video.Ssrc, 2_000_000);
        var reports = new LossReporter(bob, video.Ssrc);
        reports.Send(0);
        await Task.Delay(2100); // the full layer flows for more than a report window

        // A second with 70 % of the full layer lost (rates ≈ 40/110/240 kbit/s + audio): what got through fits the
        // lowest layer only.
        reports.Send(0.7);
        await RelayHarness.WaitUntilAsync(() => layer() == 0, StepTimeout, () => $"the lowest layer after congestion loss (on {layer()}, bound {bob.Peer.LossBasedReceiveBound})");
        var bound = bob.Peer.LossBasedReceiveBound;
        Assert.InRange(bound, 40_000, 110_000);

        // The unchanged REMB would fit the full layer: it does not take the subscriber back onto the congested link.
        for (var i = 0; i < 3; i++)
        {
            SendRemb(bob, video.Ssrc, 2_000_000);
            await Task.Delay(400);
            Assert.Equal(0, layer());
        }

        // Clean report windows: the bound grows, faster with each, and the subscriber climbs again.
        async Task<bool> ClimbAsync()
        {
            for (var i = 0; i < 20; i++)
            {
                // Watched closely, so that the climb fails before a clean window on the new layer could vouch for it.
                var window = Stopwatch.StartNew();
                while (window.Elapsed < TimeSpan.FromMilliseconds(1050))
                {
                    await Task.Delay(20);
                    if (layer() >= 1)
                    {
                        return true;
                    }
                }

                reports.Send(0);
            }

            return false;
        }

        var climbed = await ClimbAsync();
        Assert.True(climbed, $"back up a layer after clean windows (bound {bob.Peer.LossBasedReceiveBound})");
        Assert.True(bob.Peer.LossBasedReceiveBound > bound, "the bound grew");

        // The climb fails, and the subscriber's NACKs say so (a third of the new layer) long before a report window
        // could: back to the lowest layer within the climb watch, with no report at all, and video goes on there.
        var failedBefore = RelayMetrics.ClimbsFailed.Value;
        var nack = new byte[64];
        var climbClock = Stopwatch.StartNew();
        var nacked = new HashSet<ushort>();
        var sinceClimb = bob.StreamOf(video.Ssrc).Count;
        while (layer() != 0 && climbClock.Elapsed < TimeSpan.FromSeconds(2))
        {
            // Every third packet since the climb, however long an iteration took on a busy machine: a third of the new
            // layer, never less because a slow loop skipped some.
            foreach (var packet in bob.StreamOf(video.Ssrc).Snapshot().Skip(sinceClimb).Where(p => p.Sequence % 3 == 0 && nacked.Add(p.Sequence)))
            {
                Assert.True(bob.SendSubscribeRtcp(nack.AsSpan(0, GenericNack.Write(nack, 0x5EED, video.Ssrc, [packet.Sequence]))));
            }

            await Task.Delay(30);
        }

        output.WriteLine($"the NACKed climb went back after {climbClock.ElapsedMilliseconds} ms ({nacked.Count} NACKs)");
        Assert.Equal(0, layer());
        Assert.Equal(1, RelayMetrics.ClimbsFailed.Value - failedBefore);
        var count = bob.StreamOf(video.Ssrc).Count;
        await Task.Delay(1000);
        Assert.True(bob.StreamOf(video.Ssrc).Count > count + 15, "video goes on (not audio only)");
        Assert.Equal(0, layer());
        simulcast.StopSending();
        AssertContinuous(bob.StreamOf(video.Ssrc).Snapshot());
    }

    [Fact(Timeout = 30000)]
    public async Task NacksForALayerTheSubscriberWasMovedOffAreNotAnsweredThoseForItsLayerAre()
    {
        using var relay = await RelayHarness.StartAsync();
        using var call = await SimulcastCall.StartAsync(relay, "bob", "carol"); // carol stays on the full layer: it stays in the buffer
        var (simulcast, bob, video) = (call.Publisher, call.Subscribers[0], call.Video);
        var nack = new byte[64];
        var onFull = bob.StreamOf(video.Ssrc).Snapshot()[^1];
        Assert.True(bob.SendSubscribeRtcp(nack.AsSpan(0, GenericNack.Write(nack, 0x5EED, video.Ssrc, [onFull.Sequence]))));
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.RtxSsrc!.Value).Count >= 1, StepTimeout, "the repair of a packet of the layer bob is on");

        // A falling estimate moves bob to the lowest layer.
        SendRemb(bob, video.Ssrc, 2_000_000);
        await Task.Delay(100);
        SendRemb(bob, video.Ssrc, 100_000); // room for the lowest layer and audio
        await RelayHarness.WaitUntilAsync(() => LayerOf(simulcast, bob.StreamOf(video.Ssrc)) == 0, StepTimeout, "the lowest layer");
        await Task.Delay(100);
        var packets = bob.StreamOf(video.Ssrc).Snapshot();
        var full = packets.Last(p => Array.IndexOf(simulcast.LayerSsrcs, SyntheticPeer.SignatureOf(p.Payload).Ssrc) == 2); // still in the buffer (a second)
        var low = packets[^2];
        Assert.Equal(0, Array.IndexOf(simulcast.LayerSsrcs, SyntheticPeer.SignatureOf(low.Payload).Ssrc));

        Assert.True(bob.SendSubscribeRtcp(nack.AsSpan(0, GenericNack.Write(nack, 0x5EED, video.Ssrc, [full.Sequence]))));
        Assert.True(bob.SendSubscribeRtcp(nack.AsSpan(0, GenericNack.Write(nack, 0x5EED, video.Ssrc, [low.Sequence]))));
        await RelayHarness.WaitUntilAsync(() => bob.StreamOf(video.RtxSsrc!.Value).Count >= 2, StepTimeout, "the repair of the current layer's packet");
        await Task.Delay(300);
        var repaired = bob.StreamOf(video.RtxSsrc!.Value).Snapshot().Skip(1).Select(p => BinaryPrimitives.ReadUInt16BigEndian(p.Payload)).ToList();
        output.WriteLine($"NACKed {full.Sequence} (left layer, {Stopwatch.GetElapsedTime(full.ArrivalTimestamp).TotalMilliseconds:0} ms old) and {low.Sequence}; repaired {string.Join(", ", repaired)}");
        Assert.Equal([low.Sequence], repaired);
        simulcast.StopSending();
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
    /// A simulcast publisher (alice, three layers) sending for a moment, so the relay knows each layer's rate, then the
    /// subscribers, the first of them receiving the full layer (no estimate yet).
    /// </summary>
    private sealed record SimulcastCall(SyntheticPeer Publisher, SyntheticPeer[] Subscribers, RelayTrack Video) : IDisposable
    {
        public static async Task<SimulcastCall> StartAsync(RelayHarness relay, params string[] subscriberIds)
        {
            var alice = relay.Join("alice", IceTransportProtocol.Udp);
            var publisher = new SyntheticPeer("alice", alice.Peer, IceTransportProtocol.Udp, simulcast: true);
            await publisher.PublishAsync();
            var subscribers = subscriberIds.Select(id => relay.Join(id, IceTransportProtocol.Udp)).ToArray();
            publisher.StartSending();
            await Task.Delay(1200);
            foreach (var subscriber in subscribers)
            {
                await subscriber.SubscribeAsync();
            }

            var video = TracksFrom(subscribers[0], publisher).Video;
            await RelayHarness.WaitUntilAsync(() => LayerOf(publisher, subscribers[0].StreamOf(video.Ssrc)) == 2, StepTimeout, "the full layer at first");
            return new SimulcastCall(publisher, subscribers, video);
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

        public void Send(double lossShare)
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
            Assert.True(subscriber.SendSubscribeRtcp(buffer.AsSpan(0, ReceiverReport.Write(buffer, 0x5EED, [new ReportBlock(ssrc, fraction, _lost, highest, 0, 0, 0)]))));
        }
    }

    private static void SendRemb(SyntheticPeer subscriber, uint ssrc, ulong bitrate)
    {
        var buffer = new byte[64];
        Assert.True(subscriber.SendSubscribeRtcp(buffer.AsSpan(0, ReceiverEstimatedMaxBitrate.Write(buffer, 0x5EED, bitrate, [ssrc]))));
    }
}
