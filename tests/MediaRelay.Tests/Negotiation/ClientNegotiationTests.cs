using System.Net;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Sdp;
using Teletherapy.MediaRelay.Tests.Sdp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Negotiation;

/// <summary>The client side of negotiation against Chrome's own SDP and round trips through the relay's side.</summary>
public sealed class ClientNegotiationTests
{
    private static readonly DtlsCertificate ClientCertificate = DtlsCertificate.Generate("client");
    private static readonly DtlsCertificate RelayCertificate = DtlsCertificate.Generate("relay");

    [Fact]
    public void ThePublishOfferUsesOnlyAttributesChromeWritesAndItsNumbers()
    {
        var offer = Offer(out _);
        Assert.True(SessionDescription.TryParse(SdpFixtures.Load("chrome-offer"), out var chrome));
        Assert.True(SessionDescription.TryParse(offer.ToString(), out var reparsed));
        Assert.Equal(["0", "1"], reparsed!.BundleMids);
        for (var i = 0; i < 2; i++)
        {
            var ours = reparsed.Media[i];
            var theirs = chrome!.Media[i];
            Assert.Equal(theirs.Media, ours.Media);
            // Chrome's fixture is sendrecv where a publish offer is sendonly; every other attribute name must be one Chrome writes.
            Assert.Subset(theirs.Attributes.Select(a => a.Name).Append("sendonly").ToHashSet(), ours.Attributes.Select(a => a.Name).ToHashSet());
            Assert.Equal("actpass", ours.Setup);
            Assert.Equal(SdpDirection.SendOnly, ours.Direction);
            Assert.True(ours.RtcpMux && ours.RtcpReducedSize);
            foreach (var ext in ours.ExtMaps)
            {
                // Chrome's ids for the same URIs: the relay must rewrite them toward subscribers.
                Assert.Equal(theirs.FindExtMapId(ext.Uri), ext.Id);
            }

            foreach (var map in ours.RtpMaps)
            {
                Assert.Equal(theirs.GetRtpMap(map.PayloadType), map);
            }
        }

        Assert.Equal("minptime=10;useinbandfec=1", reparsed.Media[0].GetFmtp(111)!.Parameters);
        Assert.Equal(96, reparsed.Media[1].FindRtxPayloadType(96) is { } rtx ? reparsed.Media[1].GetFmtp(rtx)!.AssociatedPayloadType : null);
        Assert.Equal(["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"], reparsed.Media[1].GetRtcpFeedback(96).Select(f => f.Parameter is null ? f.Type : f.Type + " " + f.Parameter));
        Assert.Equal("FID", Assert.Single(reparsed.Media[1].SsrcGroups).Semantics);
        Assert.All(reparsed.Media[1].Ssrcs, s => Assert.Contains(s.Attribute, new[] { "cname", "msid" }));
    }

    [Fact]
    public void ThePublishOfferRoundTripsThroughTheRelaysAnswer()
    {
        var offer = Offer(out var tracks);
        Assert.True(PublishAnswer.TryCreate(offer, RelayParameters(), echo: false, out var negotiation, out var error), error);

        Assert.Collection(
            negotiation!.Producers,
            audio =>
            {
                Assert.Equal(MediaKind.Audio, audio.Kind);
                Assert.Equal(111, audio.Codec.PayloadType);
                Assert.Equal(tracks[0].Ssrc, Assert.Single(audio.Encodings).Ssrc);
                Assert.Equal(ClientNegotiation.AudioExtensions, audio.Extensions);
            },
            video =>
            {
                Assert.Equal(96, video.Codec.PayloadType);
                Assert.Equal(97, video.Codec.RtxPayloadType);
                Assert.Equal(new ProducerEncoding(null, tracks[1].Ssrc, tracks[1].RtxSsrc), Assert.Single(video.Encodings));
                Assert.Equal(ClientNegotiation.VideoExtensions, video.Extensions);
            });

        Assert.True(ClientNegotiation.TryReadPublishAnswer(negotiation.Answer.ToString(), out var answer, out error), error);
        Assert.Equal(["0", "1"], answer!.AcceptedMids);
        Assert.Empty(answer.ReturnedTracks);
        Assert.Equal("passive", answer.Relay.Setup);
        Assert.True(answer.Relay.IceLite);
        Assert.Equal(RelayCertificate.Fingerprint.ToString(), answer.Relay.Fingerprint.ToString());
        Assert.True(answer.Relay.TryGetEndpoint(IceTransportProtocol.Udp, out var udp));
        Assert.True(answer.Relay.TryGetEndpoint(IceTransportProtocol.Tcp, out var tcp));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 40000), udp);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 40001), tcp);
    }

    [Fact]
    public void ASimulcastOfferNamesItsLayersByRidWithoutSsrcsAsChromeDoes()
    {
        var local = ClientNegotiation.LocalParameters(IceCredentials.Create(), ClientCertificate.Fingerprint);
        var offer = ClientNegotiation.CreatePublishOffer([ClientTrack.SimulcastVideo("0")], local, "cname", "stream");
        Assert.True(SessionDescription.TryParse(SdpFixtures.Load("chrome-offer-simulcast"), out var chrome));
        var theirs = chrome!.Media.Single(m => m.Media == "video");
        var ours = offer.Media[0];
        Assert.Empty(ours.Ssrcs);
        Assert.Empty(ours.SsrcGroups);
        Assert.Equal(theirs.Rids, ours.Rids);
        Assert.Equal(theirs.Attributes.Single(a => a.Name == "simulcast"), ours.Attributes.Single(a => a.Name == "simulcast"));

        Assert.True(PublishAnswer.TryCreate(offer, RelayParameters(), echo: false, out var negotiation, out var error), error);
        Assert.Equal(["q", "h", "f"], Assert.Single(negotiation!.Producers).Encodings.Select(e => e.Rid));
        Assert.Equal("recv q;h;f", negotiation.Answer.Media[0].Attributes.Single(a => a.Name == "simulcast").Value);
    }

    [Fact]
    public void TheSubscribeAnswerKeepsEveryMidRejectsClosedSlotsAndReportsTheRelaysNumbers()
    {
        var audio = Consumer("0", MediaKind.Audio);
        var video = Consumer("2", MediaKind.Video);
        SubscribeSlot[] slots = [new("0", MediaKind.Audio, audio), new("1", MediaKind.Video, null), new("2", MediaKind.Video, video)];
        var offer = SubscribeOffer.Create(slots, RelayParameters(), firstOffer: true, 1);
        var ice = IceCredentials.Create();
        var local = ClientNegotiation.LocalParameters(ice, ClientCertificate.Fingerprint);

        Assert.True(ClientNegotiation.TryCreateSubscribeAnswer(offer.ToString(), local, out var result, out var error), error);

        var answer = result!.Answer;
        Assert.Equal(["0", "1", "2"], answer.Media.Select(m => m.Mid));
        Assert.Equal([9, 0, 9], answer.Media.Select(m => m.Port));
        Assert.Equal([SdpDirection.RecvOnly, SdpDirection.Inactive, SdpDirection.RecvOnly], answer.Media.Select(m => m.Direction));
        Assert.Equal(["0", "2"], answer.BundleMids);
        Assert.All(answer.Media.Where(m => m.Port != 0), m =>
        {
            Assert.Equal("active", m.Setup);
            Assert.Equal(ice.Ufrag, m.IceUfrag);
            Assert.Equal(ClientCertificate.Fingerprint.ToString(), m.Fingerprint!.ToString());
        });
        Assert.Equal(["1"], result.RejectedMids);
        Assert.True(SubscribeOffer.TryReadAnswer(answer, slots, out var remote, out error), error);
        Assert.Equal(ice.Ufrag, remote!.IceUfrag);

        Assert.Collection(
            result.Tracks,
            a =>
            {
                Assert.Equal(("0", audio.Ssrc, 111), (a.Mid, a.Ssrc, a.Codec.PayloadType));
                Assert.Equal(SubscribeOffer.Extensions with { PlayoutDelay = 0 }, a.Extensions);
                Assert.Equal(("alice", "alice:0"), (a.StreamId, a.TrackId));
            },
            v =>
            {
                Assert.Equal(("2", video.Ssrc, 96), (v.Mid, v.Ssrc, v.Codec.PayloadType));
                Assert.Equal(SubscribeOffer.Extensions with { AudioLevel = 0 }, v.Extensions);
            });
        Assert.Equal(RelayCertificate.Fingerprint.ToString(), result.Relay!.Fingerprint.ToString());
    }

    [Fact]
    public void AnOfferWhoseTracksAreAllGoneKeepsItsFirstMlineBundledAndInactiveAndIsAnswered()
    {
        // Chromium (max-bundle) refuses an offer without a BUNDLE group, and every offer after it: the first m-line, the
        // group's tag, stays in the group, inactive, with the relay's transport; the others are rejected.
        SubscribeSlot[] slots = [new("0", MediaKind.Audio, null), new("1", MediaKind.Video, null)];
        var local = RelayParameters();
        var offer = SubscribeOffer.Create(slots, local, firstOffer: false, 3);
        Assert.Equal(["0"], offer.BundleMids);
        Assert.Equal([40000, 0], offer.Media.Select(m => m.Port));
        Assert.Equal([SdpDirection.Inactive, SdpDirection.Inactive], offer.Media.Select(m => m.Direction));
        Assert.Equal((local.Ice.Ufrag, "passive"), (offer.Media[0].IceUfrag, offer.Media[0].Setup));
        Assert.DoesNotContain(offer.Media[0].Attributes, a => a.Name == "ssrc");
        var ice = IceCredentials.Create();

        Assert.True(ClientNegotiation.TryCreateSubscribeAnswer(offer.ToString(), ClientNegotiation.LocalParameters(ice, ClientCertificate.Fingerprint), out var result, out var error), error);

        Assert.Empty(result!.Tracks);
        Assert.All(result.Answer.Media, m => Assert.Equal(0, m.Port));
        Assert.True(SubscribeOffer.TryReadAnswer(result.Answer, slots, out var remote, out error), error);
        Assert.Equal(ice.Ufrag, remote!.IceUfrag);
    }

    [Fact]
    public void WhenTheFirstTrackIsGoneItsMlineStaysTheBundleTagAndTheNewTracksJoinTheGroup()
    {
        var video = Consumer("2", MediaKind.Video);
        SubscribeSlot[] slots = [new("0", MediaKind.Audio, null), new("1", MediaKind.Video, null), new("2", MediaKind.Video, video)];
        var offer = SubscribeOffer.Create(slots, RelayParameters(), firstOffer: false, 4);

        Assert.Equal(["0", "2"], offer.BundleMids);
        Assert.Equal([40000, 0, 40000], offer.Media.Select(m => m.Port));
        Assert.Equal([SdpDirection.Inactive, SdpDirection.Inactive, SdpDirection.SendOnly], offer.Media.Select(m => m.Direction));
    }

    [Fact]
    public void ChromesOfferIsAnsweredLikeARelayOfferWithItsSsrcsAndIds()
    {
        var local = ClientNegotiation.LocalParameters(IceCredentials.Create(), ClientCertificate.Fingerprint);

        Assert.True(ClientNegotiation.TryCreateSubscribeAnswer(SdpFixtures.Load("chrome-offer"), local, out var result, out var error), error);

        Assert.Collection(
            result!.Tracks,
            a => Assert.Equal((580302529u, (uint?)null, 111, 4, 1), (a.Ssrc, a.RtxSsrc, a.Codec.PayloadType, a.Extensions.Mid, a.Extensions.AudioLevel)),
            v => Assert.Equal((490906419u, (uint?)2931578651u, 96, 4, 10), (v.Ssrc, v.RtxSsrc, v.Codec.PayloadType, v.Extensions.Mid, v.Extensions.RtpStreamId)));
        Assert.Equal("q7hs", result.Relay!.IceUfrag);
        Assert.Empty(result.Relay.Candidates);
        Assert.False(result.Relay.TryGetEndpoint(IceTransportProtocol.Udp, out _));
    }

    [Fact]
    public void AnAnswerThatWouldMakeUsTheDtlsServerIsRefused()
    {
        Assert.False(ClientNegotiation.TryReadPublishAnswer(SdpFixtures.Load("chrome-answer"), out var answer, out var error));
        Assert.Null(answer);
        Assert.Contains("setup:active", error, StringComparison.Ordinal);
        Assert.False(ClientNegotiation.TryReadPublishAnswer("not sdp", out _, out _));
    }

    private static SessionDescription Offer(out IReadOnlyList<ClientTrack> tracks)
    {
        tracks = [ClientTrack.Audio("0", 1111), ClientTrack.Video("1", 2222, 3333)];
        var local = ClientNegotiation.LocalParameters(IceCredentials.Create(), ClientCertificate.Fingerprint);
        return ClientNegotiation.CreatePublishOffer(tracks, local, "cname", "stream");
    }

    private static LocalTransportParameters RelayParameters() =>
        new(
            IceCredentials.Create(),
            new SdpFingerprint(RelayCertificate.Fingerprint.Algorithm, RelayCertificate.Fingerprint.ToHex()),
            LocalTransportParameters.HostCandidates(["192.0.2.10"], 40000, 40001));

    private static ConsumerParameters Consumer(string mid, MediaKind kind) =>
        new(
            mid,
            kind,
            SubscribeOffer.CodecFor(new RtpCodec(kind, kind == MediaKind.Audio ? "opus" : "VP8", 100, kind == MediaKind.Audio ? 48000 : 90000)),
            SubscribeOffer.Extensions,
            ClientNegotiation.RandomSsrc(),
            null,
            PublishAnswer.Cname,
            "alice",
            "alice:" + mid);
}
