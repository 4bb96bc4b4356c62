using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Tests.Sdp;

public class SdpFixtureTests
{
    private static SessionDescription Parse(string name)
    {
        Assert.True(SessionDescription.TryParse(SdpFixtures.Load(name), out SessionDescription? description));
        Assert.NotNull(description);
        return description;
    }

    public static TheoryData<string> Fixtures => new(SdpFixtures.Names);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void RoundTrip_ReproducesModelAndText(string name)
    {
        string original = SdpFixtures.Load(name);
        SessionDescription first = Parse(name);
        string serialized = first.ToString();

        // The fixtures are canonical (CRLF, v/o/s/t then attributes), so the text comes back byte for byte.
        Assert.Equal(original, serialized);
        Assert.True(SessionDescription.TryParse(serialized, out SessionDescription? second));
        Assert.NotNull(second);
        Assert.Equal(first.Origin, second.Origin);
        Assert.Equal(first.SessionName, second.SessionName);
        Assert.Equal(first.Fields, second.Fields);
        Assert.Equal(first.Attributes, second.Attributes);
        Assert.Equal(first.Media.Count, second.Media.Count);
        for (int i = 0; i < first.Media.Count; i++)
        {
            Assert.Equal(first.Media[i].Media, second.Media[i].Media);
            Assert.Equal(first.Media[i].Port, second.Media[i].Port);
            Assert.Equal(first.Media[i].Protocol, second.Media[i].Protocol);
            Assert.Equal(first.Media[i].Formats, second.Media[i].Formats);
            Assert.Equal(first.Media[i].Fields, second.Media[i].Fields);
            Assert.Equal(first.Media[i].Attributes, second.Media[i].Attributes);
        }
    }

    [Fact]
    public void ChromeOffer()
    {
        SessionDescription sdp = Parse("chrome-offer");
        Assert.Equal(5249201860208347826ul, sdp.Origin.SessionId);
        Assert.Equal(2ul, sdp.Origin.SessionVersion);
        Assert.Equal(["0", "1"], sdp.BundleMids);
        Assert.False(sdp.IceLite);
        Assert.Equal(2, sdp.Media.Count);

        MediaDescription audio = sdp.Media[0];
        Assert.Equal("audio", audio.Media);
        Assert.Equal(9, audio.Port);
        Assert.Equal("UDP/TLS/RTP/SAVPF", audio.Protocol);
        Assert.Equal("0", audio.Mid);
        Assert.Equal("q7hs", audio.IceUfrag);
        Assert.Equal("nvYb8zdmFJqirehzDYTjX/8O", audio.IcePwd);
        Assert.Equal(["trickle"], audio.IceOptions);
        Assert.Equal("sha-256", audio.Fingerprint!.Algorithm);
        Assert.StartsWith("11:50:58:A4", audio.Fingerprint.Value, StringComparison.Ordinal);
        Assert.Equal("actpass", audio.Setup);
        Assert.Equal(SdpDirection.SendRecv, audio.Direction);
        Assert.True(audio.RtcpMux);
        Assert.True(audio.RtcpReducedSize);
        Assert.False(audio.RtcpMuxOnly);
        Assert.Equal(4, audio.FindExtMapId(SdpExtMap.MidUri));
        Assert.Equal([111], audio.FindPayloadTypes("opus"));
        SdpRtpMap opus = audio.GetRtpMap(111)!;
        Assert.Equal(48000, opus.ClockRate);
        Assert.Equal(2, opus.Channels);
        Assert.True(audio.GetFmtp(111)!.TryGetParameter("useinbandfec", out string fec));
        Assert.Equal("1", fec);
        Assert.Equal("f063e42d-10db-4d8d-ad49-ac353f9cf49f", audio.Msid!.StreamId);
        Assert.Equal("460e20c4-d6bb-49ca-9267-ce5a3e49cec1", audio.Msid.TrackId);
        Assert.Contains(audio.Ssrcs, s => s.Ssrc == 580302529 && s.Attribute == "cname" && s.Value == "EqRDBHNp5EIY0nrg");

        MediaDescription video = sdp.Media[1];
        Assert.Equal(4, video.FindExtMapId(SdpExtMap.MidUri));
        Assert.Equal(10, video.FindExtMapId(SdpExtMap.RtpStreamIdUri));
        Assert.Equal(3, video.FindExtMapId(SdpExtMap.TransportWideCcUri));
        Assert.Equal([96], video.FindPayloadTypes("VP8"));
        Assert.Equal(97, video.FindRtxPayloadType(96));
        Assert.Equal(103, video.FindRtxPayloadType(102));
        Assert.Equal(96, video.GetFmtp(97)!.AssociatedPayloadType);
        Assert.Equal(23, video.Formats.Count);
        Assert.Equal(
            ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"],
            video.GetRtcpFeedback(96).Select(f => f.Parameter is null ? f.Type : $"{f.Type} {f.Parameter}"));
        SdpSsrcGroup fid = Assert.Single(video.SsrcGroups);
        Assert.Equal("FID", fid.Semantics);
        Assert.Equal([490906419u, 2931578651u], fid.Ssrcs);
        Assert.Equal(4, video.Ssrcs.Count);
    }

    [Fact]
    public void ChromeOfferSimulcast()
    {
        SessionDescription sdp = Parse("chrome-offer-simulcast");
        MediaDescription video = Assert.Single(sdp.Media);
        Assert.Equal(["0"], sdp.BundleMids);
        Assert.Equal(SdpDirection.SendOnly, video.Direction);
        Assert.Equal("-", video.Msid!.StreamId);
        Assert.Equal(9, video.FindExtMapId(SdpExtMap.MidUri));
        Assert.Equal(10, video.FindExtMapId(SdpExtMap.RtpStreamIdUri));
        Assert.Equal(11, video.FindExtMapId(SdpExtMap.RepairedRtpStreamIdUri));
        Assert.Equal(["q", "h", "f"], video.Rids.Select(r => r.Id));
        Assert.All(video.Rids, rid => Assert.True(rid.IsSend));
        SdpSimulcast simulcast = video.Simulcast!;
        Assert.Empty(simulcast.Receive);
        Assert.Equal(3, simulcast.Send.Count);
        Assert.Equal(["q", "h", "f"], simulcast.Send.Select(stream => Assert.Single(stream).Rid));
        Assert.All(simulcast.Send, stream => Assert.False(stream[0].Paused));
        Assert.Empty(video.Ssrcs);
    }

    [Fact]
    public void ChromeAnswer()
    {
        SessionDescription sdp = Parse("chrome-answer");
        Assert.Equal("active", sdp.Media[0].Setup);
        Assert.Equal(SdpDirection.RecvOnly, sdp.Media[0].Direction);
        Assert.Equal(SdpDirection.RecvOnly, sdp.Media[1].Direction);
        Assert.Equal("s4bo", sdp.Media[1].IceUfrag);
        Assert.Null(sdp.Media[1].Msid);
    }

    [Fact]
    public void FirefoxOffer()
    {
        SessionDescription sdp = Parse("firefox-offer");
        Assert.Equal("mozilla...THIS_IS_SDPARTA-99.0", sdp.Origin.Username);
        Assert.Equal("sha-256", sdp.Fingerprint!.Algorithm); // session level in Firefox
        Assert.Null(sdp.Media[0].Fingerprint);
        Assert.Equal(["trickle"], sdp.IceOptions);
        Assert.Equal(["0", "1"], sdp.BundleMids);

        MediaDescription audio = sdp.Media[0];
        Assert.Equal([109], audio.FindPayloadTypes("opus"));
        Assert.Equal("793f3212", audio.IceUfrag);
        SdpExtMap csrcLevel = audio.ExtMaps.Single(e => e.Id == 2);
        Assert.Equal(SdpDirection.RecvOnly, csrcLevel.Direction);
        Assert.Equal("urn:ietf:params:rtp-hdrext:csrc-audio-level", csrcLevel.Uri);
        Assert.Equal("0-15", audio.GetFmtp(101)!.Parameters);
        Assert.Equal(1, audio.GetRtpMap(9)!.Channels);
        Assert.Equal(3, audio.FindExtMapId(SdpExtMap.MidUri));

        MediaDescription video = sdp.Media[1];
        Assert.Equal([120], video.FindPayloadTypes("vp8"));
        Assert.Equal([121], video.FindPayloadTypes("VP9"));
        Assert.Equal([99], video.FindPayloadTypes("AV1"));
        Assert.Equal(124, video.FindRtxPayloadType(120));
        Assert.Equal(125, video.FindRtxPayloadType(121));
        Assert.Equal(119, video.FindRtxPayloadType(122));
        Assert.Equal(["120", "124", "121", "125", "99", "100", "123", "122", "119"], video.Formats);
        Assert.Equal("{8c3a83f9-9e61-4646-bc7e-67ce23e2e0e8}", video.Msid!.StreamId);
        Assert.Equal([3096836956u, 2323608142u], Assert.Single(video.SsrcGroups).Ssrcs);
    }

    [Fact]
    public void FirefoxAnswer()
    {
        SessionDescription sdp = Parse("firefox-answer");
        Assert.Equal("active", sdp.Media[1].Setup);
        Assert.Equal(SdpDirection.RecvOnly, sdp.Media[1].Direction);
        Assert.Equal(7, sdp.Media[1].FindExtMapId(SdpExtMap.TransportWideCcUri));
        Assert.Equal("{77238e90-5002-4704-954f-15112b50ee4a}", sdp.Media[0].Ssrcs.Single().Value);
    }

    [Fact]
    public void GStreamerOffer()
    {
        SessionDescription sdp = Parse("gst-offer");
        Assert.Equal(["video0", "audio1"], sdp.BundleMids);
        MediaDescription video = sdp.FindMedia("video0")!;
        MediaDescription audio = sdp.FindMedia("audio1")!;
        Assert.Equal([96], video.FindPayloadTypes("vp8"));
        Assert.Equal("VP8", video.GetRtpMap(96)!.EncodingName);
        Assert.Equal([111], audio.FindPayloadTypes("opus"));
        Assert.Equal("OPUS", audio.GetRtpMap(111)!.EncodingName);
        Assert.True(video.RtcpMuxOnly);
        Assert.False(video.BundleOnly);
        Assert.True(audio.BundleOnly);
        Assert.Equal(0, audio.Port);
        Assert.Contains(new SdpAttribute("framerate", "30"), video.Attributes); // unknown attribute kept
        Assert.Equal(
            [new SdpSsrc(2947089012, "msid", "user1429468810@host-792bd027 webrtctransceiver0"), new SdpSsrc(2947089012, "cname", "user1429468810@host-792bd027")],
            video.Ssrcs);
        Assert.Equal("Qo34VnZ6Re6UrpDDd9nqH0fcm2lQw5cP", video.IceUfrag);
        Assert.Equal(["nack pli", "ccm fir", "transport-cc"], video.GetRtcpFeedback(96).Select(f => f.Parameter is null ? f.Type : $"{f.Type} {f.Parameter}"));
    }

    [Fact]
    public void GStreamerAnswer()
    {
        SessionDescription sdp = Parse("gst-answer");
        Assert.Equal(SdpDirection.RecvOnly, sdp.Media[0].Direction);
        Assert.Equal("sprop-stereo=0;sprop-maxcapturerate=48000", sdp.Media[1].GetFmtp(111)!.Parameters);
        Assert.Equal(
            [new KeyValuePair<string, string>("sprop-stereo", "0"), new KeyValuePair<string, string>("sprop-maxcapturerate", "48000")],
            sdp.Media[1].GetFmtp(111)!.GetParameters());
    }
}
