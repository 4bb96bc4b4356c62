using System.Diagnostics;
using System.Net;
using System.Text;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Sdp;
using Teletherapy.MediaRelay.Tests.Sdp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// The relay's caps (Media options), each refused with a clear error and counted in
/// <c>teletherapy_relay_limits_hit_total{limit}</c>: SDP size, m-lines, simulcast layers, peers per router, routers,
/// transports, and connection tests in all and per address range.
/// </summary>
public sealed class RelayLimitsTests
{
    private static readonly DtlsCertificate Certificate = DtlsCertificate.Generate("limits-test");

    [Fact(Timeout = 30000)]
    public async Task Browser_offers_from_the_fixtures_are_within_every_cap()
    {
        using var relay = await RelayHarness.StartAsync();
        foreach (var name in new[] { "chrome-offer", "chrome-offer-simulcast", "firefox-offer" })
        {
            var result = relay.Router.GetOrAddPeer(name).Publish(SdpFixtures.Load(name));
            Assert.True(result.Succeeded, $"{name}: {result.Error}");
        }
    }

    [Fact(Timeout = 30000)]
    public async Task An_offer_over_the_size_limit_is_refused_with_the_limit_named()
    {
        using var relay = await RelayHarness.StartAsync(o => o.MaxSdpBytes = 4096);
        var hits = RelayMetrics.LimitSdpSize.Value;
        var offer = Offer(audio: 1, video: 1);
        Assert.True(Encoding.UTF8.GetByteCount(offer) < 4096);
        Assert.True(relay.Router.GetOrAddPeer("fits").Publish(offer).Succeeded);

        var padded = offer + new string('x', 4096 - offer.Length + 1);
        var refused = relay.Router.GetOrAddPeer("too-large").Publish(padded);
        Assert.False(refused.Succeeded);
        Assert.Equal(MediaLimits.SdpSize, refused.Limit);
        Assert.Contains("4096 bytes", refused.Error, StringComparison.Ordinal);

        // Multi-byte characters count as the bytes they take, not as characters.
        var wide = offer + "a=x:" + new string('é', (4096 - offer.Length) / 2 + 1) + "\r\n";
        Assert.True(wide.Length < 4096 + 10);
        Assert.Equal(MediaLimits.SdpSize, relay.Router.GetOrAddPeer("wide").Publish(wide).Limit);
        Assert.True(RelayMetrics.LimitSdpSize.Value >= hits + 2);
    }

    [Fact(Timeout = 30000)]
    public async Task An_offer_with_more_m_lines_than_the_cap_is_refused_and_one_at_the_cap_is_answered()
    {
        using var relay = await RelayHarness.StartAsync(o => o.MaxMediaSectionsPerOffer = 4);
        var hits = RelayMetrics.LimitMediaSections.Value;
        Assert.True(relay.Router.GetOrAddPeer("four").Publish(Offer(audio: 2, video: 2)).Succeeded);

        var refused = relay.Router.GetOrAddPeer("five").Publish(Offer(audio: 3, video: 2));
        Assert.Equal(MediaLimits.MediaSections, refused.Limit);
        Assert.Contains("more than 4 m-lines", refused.Error, StringComparison.Ordinal);
        Assert.True(RelayMetrics.LimitMediaSections.Value >= hits + 1);
    }

    [Fact(Timeout = 30000)]
    public async Task Simulcast_with_more_layers_than_the_cap_is_refused_and_three_are_answered()
    {
        using var relay = await RelayHarness.StartAsync();
        var hits = RelayMetrics.LimitSimulcastLayers.Value;
        var three = Offer(simulcastRids: ["q", "h", "f"]);
        Assert.True(relay.Router.GetOrAddPeer("three").Publish(three).Succeeded);

        var four = relay.Router.GetOrAddPeer("four").Publish(Offer(simulcastRids: ["a", "b", "c", "d"]));
        Assert.Equal(MediaLimits.SimulcastLayers, four.Limit);
        Assert.Contains("more than 3 simulcast layers", four.Error, StringComparison.Ordinal);

        // The same on Chrome's own offer with a fourth layer added.
        var chrome = SdpFixtures.Load("chrome-offer-simulcast")
            .Replace("a=rid:f send", "a=rid:f send\r\na=rid:x send", StringComparison.Ordinal)
            .Replace("a=simulcast:send q;h;f", "a=simulcast:send q;h;f;x", StringComparison.Ordinal);
        Assert.Equal(MediaLimits.SimulcastLayers, relay.Router.GetOrAddPeer("chrome").Publish(chrome).Limit);
        Assert.True(RelayMetrics.LimitSimulcastLayers.Value >= hits + 2);
    }

    /// <summary>
    /// A megabyte, or a thousand m-lines that fit in the size limit, are refused from the text alone: in well under a
    /// millisecond of work and without allocating anything in proportion to what was sent.
    /// </summary>
    [Fact(Timeout = 30000)]
    public async Task A_megabyte_or_a_thousand_m_lines_are_refused_quickly_without_allocating_in_proportion()
    {
        using var relay = await RelayHarness.StartAsync();
        var peer = relay.Router.GetOrAddPeer("hostile");
        var head = Offer(audio: 1, video: 0);
        var megabyte = head + string.Concat(Enumerable.Repeat("a=x-padding:0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 1024 * 1024 / 62));
        var thousandMLines = head + string.Concat(Enumerable.Repeat("m=audio 0 X 0\n", 1000));
        Assert.True(megabyte.Length >= 1024 * 1024);
        Assert.True(thousandMLines.Length < 32 * 1024, "within the size limit: the m-line count refuses it");
        peer.Publish(megabyte); // warm up
        peer.Publish(thousandMLines);

        foreach (var (sdp, limit) in new[] { (megabyte, MediaLimits.SdpSize), (thousandMLines, MediaLimits.MediaSections) })
        {
            var started = Stopwatch.GetTimestamp();
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var result = peer.Publish(sdp);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            var took = Stopwatch.GetElapsedTime(started);
            Assert.Equal(limit, result.Limit);
            Assert.True(allocated < 2048, $"{limit}: {allocated} bytes allocated for a {sdp.Length}-character SDP");
            Assert.True(took < TimeSpan.FromMilliseconds(20), $"{limit}: {took.TotalMilliseconds} ms");

            var test = relay.Relay.StartConnectionTest(sdp, TimeSpan.FromSeconds(20), IPAddress.Parse("192.0.2.1"));
            Assert.Null(test.Test);
            Assert.Equal(limit, test.Limit);
        }

        Assert.Equal(0, relay.Relay.ConnectionTestCount);
    }

    [Fact(Timeout = 30000)]
    public async Task A_subscribe_answer_may_not_exceed_the_offered_m_lines_or_the_size_they_allow()
    {
        using var relay = await RelayHarness.StartAsync(o => o.MaxSdpBytes = 2048);
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = relay.Router.GetOrAddPeer("bob");
        bob.SeesWaitingPeers = true;
        Assert.True(bob.CreateSubscribeOffer().Succeeded); // two m-lines: alice's audio and video

        var tooMany = bob.ApplySubscribeAnswer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n" + string.Concat(Enumerable.Repeat("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", 3)));
        Assert.False(tooMany.Succeeded);
        Assert.Contains("more m-lines than the 2 offered", tooMany.Error, StringComparison.Ordinal);

        // The size allowed grows with the m-lines offered: 2,048 + 2 × 4,096 bytes here.
        var tooLarge = bob.ApplySubscribeAnswer("v=0\r\n" + new string('x', 2048 + (2 * RelayLimits.AnswerBytesPerMediaSection)));
        Assert.Equal(MediaLimits.SdpSize, tooLarge.Limit);
        GC.KeepAlive(alice);
    }

    [Fact(Timeout = 30000)]
    public async Task A_router_refuses_peers_beyond_its_cap_but_still_returns_those_it_has()
    {
        using var relay = await RelayHarness.StartAsync(o => o.MaxPeersPerRouter = 3);
        var hits = RelayMetrics.LimitPeersPerRouter.Value;
        var first = relay.Router.GetOrAddPeer("a");
        relay.Router.GetOrAddPeer("b");
        relay.Router.GetOrAddPeer("c");

        var refused = Assert.Throws<MediaLimitExceededException>(() => relay.Router.GetOrAddPeer("d"));
        Assert.Equal(MediaLimits.PeersPerRouter, refused.Limit);
        Assert.Contains("3 participants", refused.Message, StringComparison.Ordinal);
        Assert.Same(first, relay.Router.GetOrAddPeer("a"));
        Assert.Equal(3, relay.Router.Peers.Count);

        relay.Router.RemovePeer("b");
        Assert.NotNull(relay.Router.GetOrAddPeer("d"));
        Assert.True(RelayMetrics.LimitPeersPerRouter.Value >= hits + 1);
    }

    [Fact(Timeout = 30000)]
    public async Task The_relay_refuses_routers_beyond_its_cap_until_one_closes()
    {
        using var relay = await RelayHarness.StartAsync(o => o.MaxRouters = 2); // the harness made "session-1"
        var hits = RelayMetrics.LimitRouters.Value;
        var second = relay.Relay.GetOrCreateRouter("session-2");

        var refused = Assert.Throws<MediaLimitExceededException>(() => relay.Relay.GetOrCreateRouter("session-3"));
        Assert.Equal(MediaLimits.Routers, refused.Limit);
        Assert.Same(second, relay.Relay.GetOrCreateRouter("session-2"));
        Assert.Equal(2, relay.Relay.RouterCount);

        second.Dispose();
        Assert.NotNull(relay.Relay.GetOrCreateRouter("session-3"));
        Assert.True(RelayMetrics.LimitRouters.Value >= hits + 1);
    }

    [Fact(Timeout = 30000)]
    public async Task Transports_beyond_the_cap_are_refused_and_a_peer_never_holds_more_than_two()
    {
        using var relay = await RelayHarness.StartAsync(o => o.MaxTransports = 3);
        var hits = RelayMetrics.LimitTransports.Value;
        var alice = relay.Router.GetOrAddPeer("alice");
        var bob = relay.Router.GetOrAddPeer("bob");

        // A new publish offer replaces the peer's publish connection: ten of them leave one.
        for (var i = 0; i < 10; i++)
        {
            Assert.True(alice.Publish(Offer(audio: 1, video: 1)).Succeeded);
        }

        Assert.Equal(1, relay.Relay.TransportCount);
        Assert.True(alice.CreateSubscribeOffer().Succeeded);
        Assert.True(alice.CreateSubscribeOffer().Succeeded); // the same subscribe connection, offered again
        Assert.Equal(2, relay.Relay.TransportCount);

        Assert.True(bob.Publish(Offer(audio: 1, video: 1)).Succeeded);
        var refused = bob.CreateSubscribeOffer();
        Assert.Equal(MediaLimits.Transports, refused.Limit);
        Assert.Contains("limit of connections", refused.Error, StringComparison.Ordinal);
        var test = relay.Relay.StartConnectionTest(Offer(audio: 1, video: 1, echo: true), TimeSpan.FromSeconds(20), IPAddress.Loopback);
        Assert.Equal(MediaLimits.Transports, test.Limit);
        Assert.Equal(3, relay.Relay.TransportCount);
        Assert.True(RelayMetrics.LimitTransports.Value >= hits + 2);
    }

    [Fact(Timeout = 30000)]
    public async Task Connection_tests_are_capped_in_all_and_per_address_or_ipv6_64_until_they_end()
    {
        using var relay = await RelayHarness.StartAsync(o =>
        {
            o.MaxConnectionTests = 3;
            o.MaxConnectionTestsPerAddress = 1;
        });
        var perAddressHits = RelayMetrics.LimitConnectionTestsPerAddress.Value;
        var totalHits = RelayMetrics.LimitConnectionTests.Value;
        ConnectionTestStart Start(string address) =>
            relay.Relay.StartConnectionTest(Offer(audio: 1, video: 1, echo: true), TimeSpan.FromSeconds(20), IPAddress.Parse(address));

        var first = Start("192.0.2.1");
        Assert.NotNull(first.Test);

        // An unusable offer does not hold a place.
        var invalid = relay.Relay.StartConnectionTest("not sdp", TimeSpan.FromSeconds(20), IPAddress.Parse("203.0.113.9"));
        Assert.Null(invalid.Test);
        Assert.Null(invalid.Limit);
        Assert.Equal(1, relay.Relay.ConnectionTestCount);
        first.Test!.Dispose();
        relay.Relay.Housekeeping();
        Assert.Equal(0, relay.Relay.ConnectionTestCount);
        first = Start("192.0.2.1");
        Assert.NotNull(first.Test);
        var again = Start("192.0.2.1");
        Assert.Equal(MediaLimits.ConnectionTestsPerAddress, again.Limit);
        Assert.Contains("from this network", again.Error, StringComparison.Ordinal);
        Assert.Equal(MediaLimits.ConnectionTestsPerAddress, Start("::ffff:192.0.2.1").Limit);

        // IPv6: one /64 is one party; another /64 is another.
        Assert.NotNull(Start("2001:db8:1:2::1").Test);
        Assert.Equal(MediaLimits.ConnectionTestsPerAddress, Start("2001:db8:1:2:ffff::99").Limit);
        Assert.NotNull(Start("2001:db8:1:3::1").Test);

        // Three run: a fourth party is refused in all.
        var full = Start("198.51.100.7");
        Assert.Equal(MediaLimits.ConnectionTests, full.Limit);
        Assert.Equal(3, relay.Relay.ConnectionTestCount);

        // The first test ends (the browser hung up, or its time is up): its address and place are free again.
        first.Test!.Dispose();
        relay.Relay.Housekeeping();
        Assert.Equal(2, relay.Relay.ConnectionTestCount);
        Assert.NotNull(Start("192.0.2.1").Test);
        Assert.True(RelayMetrics.LimitConnectionTestsPerAddress.Value >= perAddressHits + 3);
        Assert.True(RelayMetrics.LimitConnectionTests.Value >= totalHits + 1);

    }

    [Theory]
    [InlineData("192.0.2.1", "192.0.2.1", true)]
    [InlineData("192.0.2.1", "::ffff:192.0.2.1", true)]
    [InlineData("192.0.2.1", "192.0.2.2", false)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:abcd::1", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    public void Address_ranges_are_one_ipv4_address_or_one_ipv6_64(string a, string b, bool same)
    {
        Assert.Equal(same, AddressRange.Of(IPAddress.Parse(a)) == AddressRange.Of(IPAddress.Parse(b)));
    }

    [Fact]
    public void An_address_range_reads_as_the_address_or_the_64()
    {
        Assert.Equal("192.0.2.1", AddressRange.Of(IPAddress.Parse("::ffff:192.0.2.1")).ToString());
        Assert.Equal("2001:db8:1:2::/64", AddressRange.Of(IPAddress.Parse("2001:db8:1:2:3:4:5:6")).ToString());
    }

    /// <summary>A browser-like publish offer with the given tracks (or one simulcast video track with these rids).</summary>
    private static string Offer(int audio = 1, int video = 1, IReadOnlyList<string>? simulcastRids = null, bool echo = false)
    {
        var tracks = new List<ClientTrack>();
        for (var i = 0; i < audio; i++)
        {
            tracks.Add(ClientTrack.Audio(tracks.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), ClientNegotiation.RandomSsrc()));
        }

        for (var i = 0; i < video; i++)
        {
            var mid = tracks.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            tracks.Add(simulcastRids is null
                ? ClientTrack.Video(mid, ClientNegotiation.RandomSsrc(), ClientNegotiation.RandomSsrc())
                : ClientTrack.SimulcastVideo(mid, simulcastRids));
        }

        if (tracks.Count == 0)
        {
            tracks.Add(ClientTrack.SimulcastVideo("0", simulcastRids));
        }

        var local = ClientNegotiation.LocalParameters(IceCredentials.Create(), Certificate.Fingerprint);
        return ClientNegotiation.CreatePublishOffer(tracks, local, "cname", "stream", echo ? SdpDirection.SendRecv : SdpDirection.SendOnly).ToString();
    }
}
