using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>What a peer held is freed when its connections die, whoever ended them.</summary>
public sealed class PeerLifecycleTests
{
    private static readonly TimeSpan StepTimeout = SyntheticPeer.StepTimeout;

    [Fact(Timeout = 30000)]
    public async Task A_peer_whose_connections_die_loses_its_tracks_and_the_others_are_told_to_renegotiate()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var carol = await relay.JoinAndPublishAsync("carol", IceTransportProtocol.Udp);
        await alice.SubscribeAsync();
        await carol.SubscribeAsync();
        var baseline = relay.Relay.TransportCount;
        var aliceChanges = 0;
        alice.Peer.SubscriptionsChanged += _ => Interlocked.Increment(ref aliceChanges);
        var connectionClosed = 0;
        carol.Peer.ConnectionClosed += _ => Interlocked.Increment(ref connectionClosed);

        // Carol's browser goes away: its DTLS close_notify closes both of her connections on the relay.
        carol.Dispose();

        await RelayHarness.WaitUntilAsync(() => relay.Relay.TransportCount == baseline - 2, StepTimeout, "carol's two transports freed");
        await RelayHarness.WaitUntilAsync(() => Volatile.Read(ref aliceChanges) > 0, StepTimeout, "alice told to renegotiate");
        Assert.Equal(2, Volatile.Read(ref connectionClosed));

        // Alice's next offer keeps carol's slots, closed.
        var answer = await alice.SubscribeAsync();
        Assert.Equal(["0", "1"], answer.RejectedMids);

        // Carol comes back (a new tab after a network drop): she publishes and subscribes on fresh connections.
        var back = relay.Join("carol", IceTransportProtocol.Udp);
        await back.PublishAsync();
        var again = await back.SubscribeAsync();
        Assert.Equal(2, again.Tracks.Count);
        Assert.Equal(baseline, relay.Relay.TransportCount);
    }

    [Fact(Timeout = 30000)]
    public async Task A_publisher_that_leaves_gives_its_retransmission_storage_back_for_the_next_one()
    {
        using var relay = await RelayHarness.StartAsync();
        var blocks = relay.Relay.RetransmissionBlocks;
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var carol = await relay.JoinAndPublishAsync("carol", IceTransportProtocol.Udp);
        await alice.SubscribeAsync();
        carol.StartSending();
        await RelayHarness.WaitUntilAsync(() => alice.ReceivedPackets > 0 && blocks.InUse > 0, StepTimeout, "carol's video stored for repairs");

        carol.Dispose();

        await RelayHarness.WaitUntilAsync(() => blocks.InUse == 0, StepTimeout, "carol's storage given back");
        var kept = blocks.Kept;
        Assert.True(kept > 0);

        // Carol's next tab stores its video in the same blocks: none are made anew.
        var back = await relay.JoinAndPublishAsync("carol", IceTransportProtocol.Udp);
        back.StartSending();
        await RelayHarness.WaitUntilAsync(() => blocks.InUse > 0, StepTimeout, "carol's video stored again");
        back.StopSending();
        Assert.Equal(kept, blocks.InUse + blocks.Kept);
    }

    [Fact(Timeout = 30000)]
    public async Task A_subscriber_that_asks_for_a_new_connection_gets_one_and_receives_on_it()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var carol = await relay.JoinAndPublishAsync("carol", IceTransportProtocol.Udp);
        await alice.SubscribeAsync();
        var before = alice.LastSubscribeOffer!;
        var transports = relay.Relay.TransportCount;
        carol.StartSending();
        await RelayHarness.WaitUntilAsync(() => alice.ReceivedPackets > 0, StepTimeout, "alice receives carol");

        // Alice's page lost its receive connection and asks for a new one: the relay closes the old transport, offers
        // a new one (its own ICE ufrag, m-lines from 0 again) and forwards carol's media on it.
        var answer = await alice.SubscribeOnNewConnectionAsync();
        var after = alice.LastSubscribeOffer!;
        Assert.NotEqual(IceUfrag(before), IceUfrag(after));
        Assert.Equal("0 1", string.Join(" ", after.Media.Select(m => m.Mid)));
        Assert.Equal(2, answer.Tracks.Count);
        Assert.Equal(transports, relay.Relay.TransportCount);
        var ssrcs = answer.Tracks.Select(t => t.Ssrc).ToHashSet();
        await RelayHarness.WaitUntilAsync(() => alice.Received.Any(kv => ssrcs.Contains(kv.Key) && kv.Value.Count > 0), StepTimeout, "carol's media on alice's new connection");
    }

    [Fact(Timeout = 30000)]
    public async Task A_subscribe_connection_the_relay_loses_is_offered_anew_at_once()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var carol = await relay.JoinAndPublishAsync("carol", IceTransportProtocol.Udp);
        await alice.SubscribeAsync();
        var before = alice.LastSubscribeOffer!;
        var changes = 0;
        alice.Peer.SubscriptionsChanged += _ => Interlocked.Increment(ref changes);

        // Only alice's receive connection ends (here by her DTLS close_notify; consent running out does the same): she
        // is told to renegotiate, and the next offer is for a new connection, which she answers and receives on.
        alice.CloseSubscribeConnection();
        await RelayHarness.WaitUntilAsync(() => Volatile.Read(ref changes) > 0, StepTimeout, "alice told of her lost receive connection");
        Assert.True(alice.Peer.IsPublishConnected);
        var answer = await alice.SubscribeAsync();
        Assert.NotEqual(IceUfrag(before), IceUfrag(alice.LastSubscribeOffer!));
        Assert.Equal(2, answer.Tracks.Count);
        carol.StartSending();
        var ssrcs = answer.Tracks.Select(t => t.Ssrc).ToHashSet();
        await RelayHarness.WaitUntilAsync(() => alice.Received.Any(kv => ssrcs.Contains(kv.Key) && kv.Value.Count > 0), StepTimeout, "carol's media on alice's new connection");
    }

    private static string IceUfrag(Teletherapy.MediaRelay.Sdp.SessionDescription offer) =>
        offer.Media[0].Attributes.Concat(offer.Attributes).First(a => a.Name == "ice-ufrag").Value!;
}

/// <summary>Who is offered whose tracks while people wait (R3: a waiting participant learns nothing of the others).</summary>
public sealed class WaitingVisibilityTests
{
    [Fact(Timeout = 30000)]
    public async Task Waiting_peers_are_offered_only_to_those_who_see_the_waiting_room_until_admitted()
    {
        using var relay = await RelayHarness.StartAsync();
        var therapist = await relay.JoinAndPublishAsync("therapist", IceTransportProtocol.Udp);
        var caregiver = await relay.JoinAndPublishAsync("caregiver", IceTransportProtocol.Udp, admit: false);
        var patient = await relay.JoinAndPublishAsync("patient", IceTransportProtocol.Udp, admit: false);

        // The therapist sees both waiting people's tracks; each waiting person sees only the therapist's.
        Assert.Equal(4, (await therapist.SubscribeAsync()).Tracks.Count);
        var caregiverOffer = await caregiver.SubscribeAsync();
        Assert.Equal(2, caregiverOffer.Tracks.Count);
        Assert.All(caregiverOffer.Tracks, t => Assert.Contains("therapist", t.StreamId, StringComparison.Ordinal));

        var changes = 0;
        caregiver.Peer.SubscriptionsChanged += _ => Interlocked.Increment(ref changes);
        var therapistChanges = 0;
        therapist.Peer.SubscriptionsChanged += _ => Interlocked.Increment(ref therapistChanges);

        patient.Peer.Admit();
        Assert.Equal(1, Volatile.Read(ref changes));
        Assert.Equal(0, Volatile.Read(ref therapistChanges));
        var afterAdmit = await caregiver.SubscribeAsync();
        Assert.Equal(4, afterAdmit.Tracks.Count);

        patient.Peer.CloseGate();
        Assert.Equal(2, Volatile.Read(ref changes));
        var afterSentBack = await caregiver.SubscribeAsync();
        Assert.Equal(2, afterSentBack.Tracks.Count);
        Assert.Equal(2, afterSentBack.RejectedMids.Count);
    }
}
