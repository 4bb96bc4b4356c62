using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Sdp;
using Teletherapy.MediaRelay.Tests.Sdp;

namespace Teletherapy.MediaRelay.Tests.Negotiation;

/// <summary>The relay's answer to real publish offers from Chrome, Firefox and GStreamer (fixtures captured from each).</summary>
public sealed class PublishAnswerTests
{
    private static readonly LocalTransportParameters Local = new(
        IceCredentials.Create(),
        new SdpFingerprint("sha-256", string.Join(':', Enumerable.Repeat("AB", 32))),
        LocalTransportParameters.HostCandidates(["127.0.0.1"], 40000, 40001));

    [Theory]
    [InlineData("chrome-offer", "opus", 111, "VP8", 96)]
    [InlineData("firefox-offer", "opus", 109, "VP8", 120)]
    [InlineData("gst-offer", "opus", 111, "VP8", 96)]
    public void Answers_each_browser_with_ice_lite_passive_dtls_and_its_own_payload_types(string fixture, string audio, int audioPt, string video, int videoPt)
    {
        Assert.True(SessionDescription.TryParse(SdpFixtures.Load(fixture), out var offer));

        Assert.True(PublishAnswer.TryCreate(offer!, Local, echo: false, out var result, out var error), error);

        var answer = result!.Answer;
        Assert.True(answer.IceLite);
        Assert.Equal(offer!.Media.Count, answer.Media.Count);
        Assert.Equal(offer.Media.Select(m => m.Mid), answer.Media.Select(m => m.Mid));
        var accepted = answer.Media.Where(m => m.Port != 0).ToList();
        Assert.Equal(accepted.Select(m => m.Mid!), answer.BundleMids);
        foreach (var media in accepted)
        {
            Assert.Equal("passive", media.Setup);
            Assert.Equal(Local.Ice.Ufrag, media.IceUfrag);
            Assert.True(media.RtcpMux);
            Assert.Equal(SdpDirection.RecvOnly, media.Direction);
            Assert.Contains(media.Candidates, c => c.IsUdp && c.Port == 40000);
            Assert.Contains(media.Candidates, c => c.IsTcp && c.TcpType == "passive" && c.Port == 40001);
        }

        var audioProducer = Assert.Single(result.Producers, p => p.Kind == MediaKind.Audio);
        var videoProducer = Assert.Single(result.Producers, p => p.Kind == MediaKind.Video);
        Assert.True(audioProducer.Codec.IsCodec(audio));
        Assert.Equal(audioPt, audioProducer.Codec.PayloadType);
        Assert.True(videoProducer.Codec.IsCodec(video));
        Assert.Equal(videoPt, videoProducer.Codec.PayloadType);
        Assert.Equal([audioPt], answer.FindMedia(audioProducer.Mid)!.RtpMaps.Select(m => m.PayloadType));

        // The remote side's credentials for ICE and DTLS come from the offer.
        Assert.Equal(offer.Media.First(m => m.Port != 0).IceUfrag ?? offer.IceUfrag, result.Remote.IceUfrag);
        Assert.Equal("sha-256", result.Remote.Fingerprint.Algorithm, ignoreCase: true);
    }

    [Fact]
    public void GStreamer_streams_without_mid_extension_are_bound_by_their_signalled_ssrc()
    {
        Assert.True(SessionDescription.TryParse(SdpFixtures.Load("gst-offer"), out var offer));
        Assert.True(PublishAnswer.TryCreate(offer!, Local, echo: false, out var result, out var error), error);

        var video = Assert.Single(result!.Producers, p => p.Kind == MediaKind.Video);
        Assert.Equal(0, video.Extensions.Mid);
        Assert.Equal(2947089012u, Assert.Single(video.Encodings).Ssrc);
        // The bundle-only audio m-line (port 0 in the offer) is accepted, not rejected.
        Assert.NotEqual(0, result.Answer.FindMedia("audio1")!.Port);
    }

    [Fact]
    public void Chrome_simulcast_is_answered_with_receive_rids_for_each_layer()
    {
        Assert.True(SessionDescription.TryParse(SdpFixtures.Load("chrome-offer-simulcast"), out var offer));
        Assert.True(PublishAnswer.TryCreate(offer!, Local, echo: false, out var result, out var error), error);

        var video = Assert.Single(result!.Producers, p => p.Kind == MediaKind.Video);
        Assert.True(video.IsSimulcast);
        var media = result.Answer.FindMedia(video.Mid)!;
        Assert.Equal(video.Encodings.Select(e => e.Rid), media.Rids.Select(r => r.Id));
        Assert.All(media.Rids, r => Assert.False(r.IsSend));
        Assert.Equal(video.Encodings.Select(e => e.Rid), media.Simulcast!.Receive.Select(l => l[0].Rid));
    }

    [Fact]
    public void Echo_answers_send_back_on_the_same_m_lines_with_the_relays_own_ssrcs()
    {
        Assert.True(SessionDescription.TryParse(SdpFixtures.Load("chrome-offer"), out var offer));
        foreach (var media in offer!.Media)
        {
            media.Direction = SdpDirection.SendRecv;
        }

        Assert.True(PublishAnswer.TryCreate(offer, Local, echo: true, out var result, out var error), error);

        Assert.Equal(result!.Producers.Count, result.EchoConsumers.Count);
        foreach (var consumer in result.EchoConsumers)
        {
            var media = result.Answer.FindMedia(consumer.Mid)!;
            Assert.Equal(SdpDirection.SendRecv, media.Direction);
            Assert.Contains(media.Ssrcs, s => s.Ssrc == consumer.Ssrc && s.Attribute == "cname");
            Assert.DoesNotContain(result.Producers.SelectMany(p => p.Encodings), e => e.Ssrc == consumer.Ssrc);
        }
    }

    [Theory]
    [InlineData("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\n", "ice-ufrag")]
    [InlineData("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AB:CD\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\n", "no audio or video")]
    public void Offers_it_cannot_serve_are_refused_with_a_reason(string sdp, string expected)
    {
        Assert.True(SessionDescription.TryParse(sdp, out var offer));
        Assert.False(PublishAnswer.TryCreate(offer!, Local, echo: false, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
