using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Tests.Sdp;

public class SdpAttributeTests
{
    [Theory]
    [InlineData("1 1 udp 2122260223 192.168.1.10 54400 typ host generation 0 network-id 1")]
    [InlineData("2 1 tcp 1518280447 192.168.1.10 9 typ host tcptype passive")]
    [InlineData("3 1 udp 1686052607 203.0.113.5 61000 typ srflx raddr 192.168.1.10 rport 54400")]
    public void Candidate_RoundTrips(string value)
    {
        Assert.True(SdpCandidate.TryParse(value, out SdpCandidate? candidate));
        Assert.Equal(value, candidate!.ToString());
    }

    [Fact]
    public void Candidate_ParsesFields()
    {
        Assert.True(SdpCandidate.TryParse("f2 1 tcp 1518280447 10.0.0.1 443 typ host tcptype passive raddr 0.0.0.0 rport 0", out SdpCandidate? c));
        Assert.Equal("f2", c!.Foundation);
        Assert.Equal(1, c.Component);
        Assert.True(c.IsTcp);
        Assert.Equal(1518280447u, c.Priority);
        Assert.Equal("10.0.0.1", c.Address);
        Assert.Equal(443, c.Port);
        Assert.Equal("host", c.Type);
        Assert.Equal("passive", c.TcpType);
        Assert.Equal("0.0.0.0", c.RelatedAddress);
        Assert.Equal(0, c.RelatedPort);
    }

    [Theory]
    [InlineData("1 1 udp 2122260223 192.168.1.10 54400 host")]
    [InlineData("1 x udp 2122260223 192.168.1.10 54400 typ host")]
    [InlineData("1 1 udp 2122260223 192.168.1.10 70000 typ host")]
    [InlineData("1 1 udp 2122260223 192.168.1.10 54400 typ host generation")]
    public void Candidate_RejectsMalformed(string value)
    {
        Assert.False(SdpCandidate.TryParse(value, out _));
    }

    [Fact]
    public void Candidate_PriorityFormula()
    {
        // RFC 8445 §5.1.2.1: host (126), local preference 65535, component 1.
        Assert.Equal(2130706431u, SdpCandidate.ComputePriority(126, 65535, 1));
    }

    [Fact]
    public void Simulcast_ParsesAlternativesPausedAndBothDirections()
    {
        Assert.True(SdpSimulcast.TryParse("send 1,~2;3 recv a", out SdpSimulcast? simulcast));
        Assert.Equal(2, simulcast!.Send.Count);
        Assert.Equal(["1", "2"], simulcast.Send[0].Select(l => l.Rid));
        Assert.True(simulcast.Send[0][1].Paused);
        Assert.False(simulcast.Send[0][0].Paused);
        Assert.Equal("a", Assert.Single(Assert.Single(simulcast.Receive)).Rid);
        Assert.Equal("send 1,~2;3 recv a", simulcast.ToString());
        Assert.False(SdpSimulcast.TryParse("send", out _));
        Assert.False(SdpSimulcast.TryParse("send a send b", out _));
        Assert.False(SdpSimulcast.TryParse("up a", out _));
        Assert.False(SdpSimulcast.TryParse("send a;;b", out _));
    }

    [Fact]
    public void Rid_ParsesDirectionAndRestrictions()
    {
        Assert.True(SdpRid.TryParse("h recv max-width=1280;max-height=720", out SdpRid? rid));
        Assert.Equal("h", rid!.Id);
        Assert.False(rid.IsSend);
        Assert.Equal("max-width=1280;max-height=720", rid.Restrictions);
        Assert.False(SdpRid.TryParse("h sideways", out _));
    }

    [Fact]
    public void ExtMap_ParsesDirectionAndRejectsBadIds()
    {
        Assert.True(SdpExtMap.TryParse("6/recvonly http://example/ext", out SdpExtMap? extMap));
        Assert.Equal(6, extMap!.Id);
        Assert.Equal(SdpDirection.RecvOnly, extMap.Direction);
        Assert.Equal("6/recvonly http://example/ext", extMap.ToString());
        Assert.False(SdpExtMap.TryParse("0 urn:x", out _));
        Assert.False(SdpExtMap.TryParse("256 urn:x", out _));
        Assert.False(SdpExtMap.TryParse("3/sideways urn:x", out _));
        Assert.False(SdpExtMap.TryParse("3", out _));
    }

    [Fact]
    public void RtpMap_RejectsMalformed()
    {
        Assert.False(SdpRtpMap.TryParse("128 opus/48000/2", out _));
        Assert.False(SdpRtpMap.TryParse("111 opus", out _));
        Assert.False(SdpRtpMap.TryParse("111 opus/x", out _));
        Assert.True(SdpRtpMap.TryParse("0 PCMU/8000", out SdpRtpMap? pcmu));
        Assert.Null(pcmu!.Channels);
        Assert.True(pcmu.IsCodec("pcmu"));
    }

    [Fact]
    public void Fmtp_NonKeyValueParameters()
    {
        Assert.True(SdpFmtp.TryParse("63 111/111", out SdpFmtp? red));
        Assert.Equal("111/111", Assert.Single(red!.GetParameters()).Key);
        Assert.Null(red.AssociatedPayloadType);
        Assert.True(SdpFmtp.TryParse("97 APT=96", out SdpFmtp? rtx));
        Assert.Equal(96, rtx!.AssociatedPayloadType);
    }

    [Fact]
    public void Builder_ProducesAnswerThatParses()
    {
        var answer = new SessionDescription { Origin = new SdpOrigin("-", 42, 1, "IN", "IP4", "127.0.0.1") };
        answer.Fields.Add(new SdpLine('t', "0 0"));
        answer.IceLite = true;
        answer.Attributes.Add(new SdpAttribute("group", new SdpGroup("BUNDLE", ["0"]).ToString()));
        var video = new MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", ["96", "97"]);
        video.Fields.Add(new SdpLine('c', "IN IP4 0.0.0.0"));
        video.Mid = "0";
        video.Direction = SdpDirection.RecvOnly;
        video.AddAttribute("rtcp-mux");
        video.AddAttribute("rtpmap", new SdpRtpMap(96, "VP8", 90000).ToString());
        video.AddAttribute("rtpmap", new SdpRtpMap(97, "rtx", 90000).ToString());
        video.AddAttribute("fmtp", new SdpFmtp(97, "apt=96").ToString());
        video.AddAttribute("rid", new SdpRid("f", false).ToString());
        video.AddAttribute("simulcast", new SdpSimulcast([], [[new SdpSimulcastLayer("f")], [new SdpSimulcastLayer("h", true)]]).ToString());
        video.AddAttribute("candidate", new SdpCandidate("1", 1, "udp", SdpCandidate.ComputePriority(126, 65535, 1), "10.0.0.1", 40000, "host").ToString());
        video.AddAttribute("end-of-candidates");
        answer.Media.Add(video);

        string text = answer.ToString();
        Assert.StartsWith("v=0\r\no=- 42 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n", text, StringComparison.Ordinal);
        Assert.Contains("a=simulcast:recv f;~h\r\n", text, StringComparison.Ordinal);
        Assert.True(SessionDescription.TryParse(text, out SessionDescription? parsed));
        Assert.True(parsed!.IceLite);
        MediaDescription media = Assert.Single(parsed.Media);
        Assert.Equal(SdpDirection.RecvOnly, media.Direction);
        Assert.Equal(97, media.FindRtxPayloadType(96));
        Assert.True(media.EndOfCandidates);
        Assert.Equal(40000, Assert.Single(media.Candidates).Port);
        Assert.Equal(["0"], parsed.BundleMids);

        media.Direction = SdpDirection.Inactive;
        Assert.Equal(SdpDirection.Inactive, media.Direction);
        Assert.Single(media.Attributes, a => a.Name is "recvonly" or "inactive");
        parsed.IceLite = false;
        Assert.DoesNotContain("ice-lite", parsed.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("o=- 1 1 IN IP4 0.0.0.0\r\n")] // no v=
    [InlineData("v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\n")]
    [InlineData("v=0\r\ns=-\r\n")] // no o=
    [InlineData("v=0\r\no=- x 1 IN IP4 0.0.0.0\r\n")]
    [InlineData("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio\r\n")]
    [InlineData("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio 70000 RTP/AVP 0\r\n")]
    [InlineData("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nnot a line\r\n")]
    [InlineData("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n")]
    public void TryParse_RejectsMalformed(string text)
    {
        Assert.False(SessionDescription.TryParse(text, out SessionDescription? description));
        Assert.Null(description);
    }

    [Fact]
    public void TryParse_AcceptsBareLineFeeds()
    {
        Assert.True(SessionDescription.TryParse("v=0\no=- 1 2 IN IP4 0.0.0.0\ns=x\nt=0 0\nm=audio 9 RTP/AVP 0\na=mid:a\n", out SessionDescription? sdp));
        Assert.Equal("a", sdp!.Media[0].Mid);
        Assert.Equal("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=x\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\r\n", sdp.ToString());
    }
}
