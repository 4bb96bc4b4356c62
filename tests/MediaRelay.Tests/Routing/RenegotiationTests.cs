using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>Offers and answers that cross: several people joining at once, and a publisher adding or removing a track.</summary>
public sealed class RenegotiationTests
{
    private static readonly TimeSpan StepTimeout = SyntheticPeer.StepTimeout;

    [Fact(Timeout = 30000)]
    public async Task An_answer_to_an_offer_a_newer_one_overtook_is_taken_for_the_slots_it_knew()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        var first = await bob.SubscribeAsync(); // alice's audio and video
        Assert.Equal(2, first.Tracks.Count);

        // Carol joins: bob's relay makes a newer offer (four m-lines) while bob's browser still answers the older one.
        await relay.JoinAndPublishAsync("carol", IceTransportProtocol.Udp);
        Assert.True(bob.Peer.CreateSubscribeOffer().Succeeded);
        var late = bob.Peer.ApplySubscribeAnswer(first.Answer.ToString());
        Assert.True(late.Succeeded, late.Error);

        // The newer offer's answer then brings carol's tracks, and both publishers' media arrive.
        var current = await bob.SubscribeAsync();
        Assert.Equal(4, current.Tracks.Count);
        alice.StartSending();
        await RelayHarness.WaitUntilAsync(() => current.Tracks.All(t => bob.StreamOf(t.Ssrc).Count > 0 || t.StreamId!.Contains("carol", StringComparison.Ordinal)), StepTimeout, "alice's tracks at bob");
        alice.StopSending();
    }

    [Fact(Timeout = 30000)]
    public async Task A_second_video_track_on_the_same_connection_reaches_subscribers_as_a_stream_of_its_own_and_goes_alone()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        var before = await bob.SubscribeAsync();
        var transports = relay.Relay.TransportCount;

        // Alice shares a screen: her browser offers again with the same ICE ufrag and a third m-line in a new stream.
        var screen = ClientTrack.Video("2", ClientNegotiation.RandomSsrc(), ClientNegotiation.RandomSsrc());
        var shared = alice.Peer.Publish(alice.RepublishOffer(screen));
        Assert.True(shared.Succeeded, shared.Error);
        Assert.True(ClientNegotiation.TryReadPublishAnswer(shared.Sdp!, out var answer, out var error), error);
        Assert.Equal(["0", "1", "2"], answer!.AcceptedMids);
        Assert.Equal(transports, relay.Relay.TransportCount); // the same connection, no ICE restart
        Assert.Equal(3, alice.Peer.Producers.Count);

        var during = await bob.SubscribeAsync();
        Assert.Equal(3, during.Tracks.Count);
        var camera = during.Tracks.Where(t => t.StreamId == "alice").ToList();
        Assert.Equal(before.Tracks.Select(t => t.Ssrc).Order(), camera.Select(t => t.Ssrc).Order()); // camera and microphone untouched
        var screenTrack = Assert.Single(during.Tracks, t => t.StreamId != "alice");
        Assert.Equal("alice~2", screenTrack.StreamId);
        Assert.Equal(MediaKind.Video, screenTrack.Kind);

        // Her camera keeps flowing to bob on the consumers he had.
        alice.StartSending();
        await RelayHarness.WaitUntilAsync(() => camera.All(t => bob.StreamOf(t.Ssrc).Count > 0), StepTimeout, "alice's camera and microphone at bob");

        // Stopping the share is another offer without that m-line: only the screen goes; bob's slot for it is closed.
        var stopped = alice.Peer.Publish(alice.RepublishOffer());
        Assert.True(stopped.Succeeded, stopped.Error);
        Assert.Equal(2, alice.Peer.Producers.Count);
        var after = await bob.SubscribeAsync();
        Assert.Equal(camera.Select(t => t.Ssrc).Order(), after.Tracks.Select(t => t.Ssrc).Order());
        Assert.Contains(screenTrack.Mid, after.RejectedMids);
        var received = camera.Sum(t => bob.StreamOf(t.Ssrc).Count);
        await RelayHarness.WaitUntilAsync(() => camera.Sum(t => bob.StreamOf(t.Ssrc).Count) > received + 10, StepTimeout, "alice's camera still flowing after the share");
        alice.StopSending();
    }

    [Fact(Timeout = 30000)]
    public async Task A_peer_limited_to_one_video_track_cannot_add_a_second_and_lowering_the_limit_closes_it()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        var screen = ClientTrack.Video("2", ClientNegotiation.RandomSsrc(), ClientNegotiation.RandomSsrc());

        alice.Peer.LimitVideoTracks(1);
        var refused = alice.Peer.Publish(alice.RepublishOffer(screen));
        Assert.False(refused.Succeeded);
        Assert.Equal(MediaLimits.VideoTracks, refused.Limit);
        Assert.Equal(2, alice.Peer.Producers.Count); // what she sent before is untouched
        Assert.Equal(2, (await bob.SubscribeAsync()).Tracks.Count);

        // Allowed, she shares; the limit lowered again closes the screen and leaves her camera.
        alice.Peer.LimitVideoTracks(2);
        Assert.True(alice.Peer.Publish(alice.RepublishOffer(screen)).Succeeded);
        Assert.Equal(3, (await bob.SubscribeAsync()).Tracks.Count);
        var changes = 0;
        bob.Peer.SubscriptionsChanged += _ => Interlocked.Increment(ref changes);
        alice.Peer.LimitVideoTracks(1);
        Assert.Equal(1, Volatile.Read(ref changes));
        Assert.Equal([MediaKind.Audio, MediaKind.Video], alice.Peer.Producers.Select(p => p.Kind));
        var after = await bob.SubscribeAsync();
        Assert.Equal(2, after.Tracks.Count);
        Assert.All(after.Tracks, t => Assert.Equal("alice", t.StreamId));
    }
}
