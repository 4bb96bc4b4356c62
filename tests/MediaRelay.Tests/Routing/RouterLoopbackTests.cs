using Microsoft.Extensions.Time.Testing;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Transport;
using Xunit.Abstractions;
using static Teletherapy.MediaRelay.Tests.Routing.RoutingAssertions;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// The routing layer over real loopback sockets: synthetic participants negotiate with the relay, connect publish and
/// subscribe transports (ICE, DTLS, SRTP), send audio and VP8 video, and check what the relay forwards.
/// </summary>
public sealed class RouterLoopbackTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepTimeout = SyntheticPeer.StepTimeout;

    /// <summary>
    /// UDP both ways the relay reads and writes it: batched (recvmmsg/sendmmsg, Linux) and one packet per call, on one
    /// receive thread or two sharing the port.
    /// </summary>
    [Theory(Timeout = 30000)]
    [InlineData("udp", true, 1)]
    [InlineData("udp", false, 1)]
    [InlineData("udp", true, 2)]
    [InlineData("tcp", true, 1)]
    public async Task TwoAdmittedPeersReceiveEachOthersMediaInTheirOwnNumbering(string transport, bool batchedUdp, int receiveThreads)
    {
        var protocol = Enum.Parse<IceTransportProtocol>(transport, ignoreCase: true);
        using var relay = await RelayHarness.StartAsync(o =>
        {
            o.BatchedUdp = batchedUdp;
            o.UdpReceiveThreads = receiveThreads;
        });
        var alice = await relay.JoinAndPublishAsync("alice", protocol);
        var bob = await relay.JoinAndPublishAsync("bob", protocol);
        await alice.SubscribeAsync();
        await bob.SubscribeAsync();

        alice.StartSending();
        bob.StartSending();
        await RelayHarness.WaitUntilAsync(
            () => HasReceived(alice, bob, 25, 15) && HasReceived(bob, alice, 25, 15), StepTimeout, "25 audio packets and 15 video frames each way");
        alice.StopSending();
        bob.StopSending();

        AssertForwardedIntact(alice, bob);
        AssertForwardedIntact(bob, alice);
        Assert.Equal(2, alice.Received.Count);
        Assert.Equal(2, bob.Received.Count);
    }

    [Fact(Timeout = 30000)]
    public async Task AWaitingPeerGetsAndGivesNothingUntilAdmittedThenWithinASecondAndAgainAfterBeingSentBack()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        var therapist = await relay.JoinAndPublishAsync("therapist", IceTransportProtocol.Udp);
        var patient = await relay.JoinAndPublishAsync("patient", IceTransportProtocol.Udp, admit: false);
        await therapist.SubscribeAsync();
        await patient.SubscribeAsync();
        Assert.True(patient.Peer.IsPublishConnected && patient.Peer.IsSubscribeConnected);
        var firstMedia = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        patient.Peer.FirstMediaAfterAdmit += (_, elapsed) => firstMedia.TrySetResult(elapsed);

        // R3: fully connected, both sending for two seconds of the relay's clock (housekeeping included), and yet nothing
        // crosses the gate either way; the waiting peer's keyframe request does not reach the admitted publisher.
        var droppedBefore = RelayMetrics.DroppedNotAdmitted.Value;
        var media = new ClockedMedia(clock, therapist, patient);
        await media.RunAsync(TimeSpan.FromMilliseconds(300));
        var therapistCamera = therapist.Peer.Producers.Single(p => p.Kind == MediaKind.Video);
        var requestsBefore = therapistCamera.KeyFrameRequestsSent;
        var (_, therapistVideo) = TracksFrom(patient, therapist);
        var pli = new byte[12];
        await SendRtcpAsync(patient, pli, PictureLossIndication.Write(pli, 0x5EED, therapistVideo.Ssrc));
        await media.RunAsync(TimeSpan.FromMilliseconds(1700));
        Assert.Equal(requestsBefore, therapistCamera.KeyFrameRequestsSent);
        Assert.True(patient.Peer.PacketsReceived > 50, "the relay did receive the waiting peer's media");
        Assert.Equal(0, patient.Peer.PacketsSent);
        Assert.Equal(0, therapist.Peer.PacketsSent); // the therapist sees the waiting peer's tracks, but gets no media of them
        Assert.Equal(0, patient.ReceivedPackets);
        Assert.Equal(0, therapist.ReceivedPackets);
        Assert.True(RelayMetrics.DroppedNotAdmitted.Value - droppedBefore >= 100, "drops are counted as not-admitted");

        // Admit: the gate opens, keyframes are asked for, media flows both ways within a second of the relay's clock.
        patient.Peer.Admit();
        await media.RunUntilAsync(
            () => firstMedia.Task.IsCompleted && HasReceived(patient, therapist, 1, 1) && HasReceived(therapist, patient, 1, 1),
            TimeSpan.FromSeconds(1),
            "media both ways within a second of admit");
        var reported = await firstMedia.Task;
        output.WriteLine($"admit → first packet {reported.TotalMilliseconds:0} ms on the relay's clock");
        Assert.True(reported < TimeSpan.FromSeconds(1));
        await media.RunUntilAsync(() => HasReceived(patient, therapist, 10, 6) && HasReceived(therapist, patient, 10, 6), TimeSpan.FromSeconds(2), "media both ways after admit");
        var (_, video) = TracksFrom(patient, therapist);
        AssertForwardedIntact(patient, therapist);
        AssertForwardedIntact(therapist, patient);

        // Sent back to the waiting room: nothing more goes out either way.
        patient.Peer.CloseGate();
        var sentToPatient = patient.Peer.PacketsSent;
        var sentToTherapist = therapist.Peer.PacketsSent;
        await media.RunAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(sentToPatient, patient.Peer.PacketsSent);
        Assert.Equal(sentToTherapist, therapist.Peer.PacketsSent);
        await RelayHarness.WaitUntilAsync(() => patient.ReceivedPackets >= sentToPatient && therapist.ReceivedPackets >= sentToTherapist, StepTimeout, "what was sent before the gate closed");
        var patientCount = patient.ReceivedPackets;
        var therapistCount = therapist.ReceivedPackets;

        // Admitted again: media resumes, on a keyframe, continuing each stream's sequence numbers without a jump.
        var videoBefore = patient.StreamOf(video.Ssrc).Count;
        patient.Peer.Admit();
        await media.RunUntilAsync(
            () => patient.ReceivedPackets > patientCount + 20 && therapist.ReceivedPackets > therapistCount + 20 && patient.StreamOf(video.Ssrc).Count > videoBefore + 3,
            TimeSpan.FromSeconds(2),
            "media both ways after the second admit");
        foreach (var stream in patient.Received.Values.Concat(therapist.Received.Values))
        {
            AssertContinuous(stream.Snapshot());
        }

        Assert.True(patient.StreamOf(video.Ssrc).Snapshot()[videoBefore].IsVp8KeyFrame, "video resumes on a keyframe");
    }

    [Fact(Timeout = 30000)]
    public async Task ALatePublisherIsOfferedToTheOthersAfterTheirTracksAndARemovedPeerLeavesClosedSlots()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        var first = await alice.SubscribeAsync();
        await bob.SubscribeAsync();
        var baseline = relay.Relay.TransportCount;
        Assert.Equal(4, baseline);
        var aliceChanges = 0;
        var bobChanges = 0;
        alice.Peer.SubscriptionsChanged += _ => Interlocked.Increment(ref aliceChanges);
        bob.Peer.SubscriptionsChanged += _ => Interlocked.Increment(ref bobChanges);

        // Carol only watches at first, then publishes.
        var carol = relay.Join("carol", IceTransportProtocol.Udp);
        await carol.SubscribeAsync();
        Assert.Equal(0, Volatile.Read(ref aliceChanges));
        await carol.PublishAsync();
        Assert.True(Volatile.Read(ref aliceChanges) >= 1 && Volatile.Read(ref bobChanges) >= 1, "SubscriptionsChanged on the others");

        var second = await alice.SubscribeAsync();
        Assert.Equal(["0", "1", "2", "3"], alice.LastSubscribeOffer!.Media.Select(m => m.Mid));
        Assert.Equal(first.Tracks.Select(t => (t.Mid, t.Ssrc)), second.Tracks.Take(2).Select(t => (t.Mid, t.Ssrc)));
        var (carolAudio, carolVideo) = TracksFrom(alice, carol);
        Assert.Equal(("2", "3"), (carolAudio.Mid, carolVideo.Mid));
        await bob.SubscribeAsync();

        carol.StartSending();
        bob.StartSending();
        await RelayHarness.WaitUntilAsync(() => HasReceived(alice, carol, 20, 10) && HasReceived(alice, bob, 20, 10), StepTimeout, "alice receiving carol and bob");
        carol.StopSending();

        // Carol's m-lines are "2" and "3" for alice although carol sent them as "0" and "1": the MID is alice's.
        AssertForwardedIntact(alice, carol);
        AssertForwardedIntact(alice, bob);

        var changesBefore = Volatile.Read(ref aliceChanges);
        relay.Router.RemovePeer("carol");
        Assert.True(Volatile.Read(ref aliceChanges) > changesBefore, "SubscriptionsChanged when a peer leaves");
        Assert.Equal(baseline, relay.Relay.TransportCount);
        var third = await alice.SubscribeAsync();
        var offer = alice.LastSubscribeOffer!;
        Assert.Equal(["0", "1", "2", "3"], offer.Media.Select(m => m.Mid));
        Assert.Equal([9999, 9999, 0, 0], offer.Media.Select(m => m.Port == 0 ? 0 : 9999));
        Assert.Equal(["2", "3"], third.RejectedMids);
        Assert.Equal(first.Tracks.Select(t => t.Ssrc), third.Tracks.Select(t => t.Ssrc));
        await RelayHarness.WaitUntilAsync(() => carol.PublishTransport!.State == WebRtcTransportState.Closed && carol.SubscribeTransport!.State == WebRtcTransportState.Closed, StepTimeout, "carol's transports closed by the relay");

        // Bob still reaches alice on the renegotiated connection.
        var bobVideo = TracksFrom(alice, bob).Video;
        var before = alice.StreamOf(bobVideo.Ssrc).Count;
        await RelayHarness.WaitUntilAsync(() => alice.StreamOf(bobVideo.Ssrc).Count > before + 5, StepTimeout, "bob's video after carol left");
        bob.StopSending();
        AssertContinuous(alice.StreamOf(bobVideo.Ssrc).Snapshot());
    }

    [Fact(Timeout = 30000)]
    public async Task ASubscribersKeyFrameRequestsReachThePublisherOnItsSsrcCoalesced()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var relay = await RelayHarness.StartAsync(time: clock);
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var media = new ClockedMedia(clock, alice);
        await media.RunUntilAsync(() => HasReceived(bob, alice, 1, 3), TimeSpan.FromSeconds(5), "bob receiving alice's video");
        var video = TracksFrom(bob, alice).Video;
        var producer = alice.Peer.Producers.Single(p => p.Kind == MediaKind.Video);

        // A burst of 10 PLIs and a FIR at one moment, all for the relay's SSRC, becomes one PLI for alice's own SSRC.
        await media.RunAsync(TimeSpan.FromMilliseconds(400));
        var sent = producer.KeyFrameRequestsSent;
        var before = alice.KeyFrameRequests.Count;
        var buffer = new byte[20];
        for (var i = 0; i < 10; i++)
        {
            await SendRtcpAsync(bob, buffer, PictureLossIndication.Write(buffer, 0x5EED, video.Ssrc));
        }

        await SendRtcpAsync(bob, buffer, FullIntraRequest.Write(buffer, 0x5EED, video.Ssrc, 1));
        Assert.Equal(sent + 1, producer.KeyFrameRequestsSent);
        await RelayHarness.WaitUntilAsync(() => alice.KeyFrameRequests.Count > before, StepTimeout, "a PLI at alice");
        Assert.Equal(alice.VideoSsrc, alice.KeyFrameRequests.Skip(before).First().MediaSsrc);

        // Within the coalescing interval (250 ms) a request is merged into that one; once it has passed, it goes through.
        clock.Advance(TimeSpan.FromMilliseconds(200));
        await SendRtcpAsync(bob, buffer, PictureLossIndication.Write(buffer, 0x5EED, video.Ssrc));
        Assert.Equal(sent + 1, producer.KeyFrameRequestsSent);
        clock.Advance(TimeSpan.FromMilliseconds(50));
        await SendRtcpAsync(bob, buffer, PictureLossIndication.Write(buffer, 0x5EED, video.Ssrc));
        Assert.Equal(sent + 2, producer.KeyFrameRequestsSent);
        await RelayHarness.WaitUntilAsync(() => alice.KeyFrameRequests.Count > before + 1, StepTimeout, "a second PLI at alice");
        Assert.All(alice.KeyFrameRequests.Skip(before), r => Assert.Equal(alice.VideoSsrc, r.MediaSsrc));
    }

    /// <summary>Sends RTCP on the subscriber's connection and waits until the relay has acted on it, at the relay's time now.</summary>
    private static async Task SendRtcpAsync(SyntheticPeer subscriber, byte[] buffer, int length)
    {
        var before = subscriber.Peer.SubscribeRtcpReceived;
        Assert.True(subscriber.SendSubscribeRtcp(buffer.AsSpan(0, length)));
        await ClockedMedia.ArrivedAsync(() => subscriber.Peer.SubscribeRtcpReceived > before, "the RTCP at the relay");
    }

    [Fact(Timeout = 30000)]
    public async Task HousekeepingSendsASenderReportForEverySsrcASubscriberReceives()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await alice.SubscribeAsync();
        await bob.SubscribeAsync();
        alice.StartSending();
        bob.StartSending();
        await RelayHarness.WaitUntilAsync(() => HasReceived(alice, bob, 1, 1) && HasReceived(bob, alice, 1, 1), StepTimeout, "media each way");
        alice.StopSending();
        bob.StopSending();
        alice.SenderReports.Clear();
        bob.SenderReports.Clear();

        relay.Relay.Housekeeping();

        await RelayHarness.WaitUntilAsync(
            () => alice.Received.Keys.All(alice.SenderReports.ContainsKey) && bob.Received.Keys.All(bob.SenderReports.ContainsKey),
            TimeSpan.FromSeconds(2),
            "a Sender Report for every received SSRC");
        Assert.Equal(alice.Received.Keys.Order(), alice.SenderReports.Keys.Order());
        Assert.Equal(bob.Received.Keys.Order(), bob.SenderReports.Keys.Order());
    }

    [Theory(Timeout = 30000)]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task TheConnectionTestReturnsWhatItReceivesOnItsEchoSsrcs(string transport)
    {
        using var relay = await RelayHarness.StartAsync();
        using var peer = new SyntheticPeer("checker", null, Enum.Parse<IceTransportProtocol>(transport, ignoreCase: true));
        var answer = await peer.StartConnectionTestAsync(relay.Relay);
        Assert.Equal(["0", "1"], answer.AcceptedMids);
        var audio = Assert.Single(answer.ReturnedTracks, t => t.Mid == "0");
        var video = Assert.Single(answer.ReturnedTracks, t => t.Mid == "1");

        peer.StartSending();
        await RelayHarness.WaitUntilAsync(() => peer.StreamOf(audio.Ssrc).Count >= 20 && peer.StreamOf(video.Ssrc).Count >= 10, StepTimeout, "the echo");
        peer.StopSending();

        Assert.Equal(new[] { audio.Ssrc, video.Ssrc }.Order(), peer.Received.Keys.Order());
        foreach (var (track, original) in new[] { (audio, peer.AudioSsrc), (video, peer.VideoSsrc) })
        {
            var packets = peer.StreamOf(track.Ssrc).Snapshot();
            AssertContinuous(packets);
            Assert.All(packets, p =>
            {
                Assert.Equal(track.Codec.PayloadType, p.PayloadType);
                Assert.Equal(track.Mid, p.ExtensionText(track.Extensions.Mid));
                var signature = SyntheticPeer.SignatureOf(p.Payload);
                Assert.Equal(original, signature.Ssrc);
                Assert.Equal(peer.SentPayloads[signature], p.Payload);
            });
        }

        Assert.True(peer.StreamOf(video.Ssrc).Snapshot()[0].IsVp8KeyFrame);
    }
}
