using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// Which producer a publisher's packet goes to, by its SSRC: the transport keeps the bindings its last packets came
/// with beside the dictionary, and a binding replaced or removed there is never used again from beside it.
/// </summary>
public sealed class SsrcBindingTests : IDisposable
{
    private const uint Audio = 0x1111_0001;
    private const uint Video = 0x2222_0002;
    private static readonly DtlsCertificate Certificate = DtlsCertificate.Generate();
    private static readonly RtpCodec Opus = new(MediaKind.Audio, "opus", 111, 48000, 2);
    private static readonly RtpCodec Vp8 = new(MediaKind.Video, "VP8", 96, 90000, 0);

    private readonly WebRtcTransport _transport = new("bindings", new TransportDirectory(), Certificate, TimeProvider.System);
    private readonly TransportRouting _routing;
    private ushort _sequence;

    public SsrcBindingTests() => _routing = new TransportRouting(_transport);

    public void Dispose() => _transport.Dispose();

    [Fact]
    public void Packets_of_two_streams_in_turn_reach_their_own_producers()
    {
        var audio = AddProducer("a", "0", Opus, Audio);
        var video = AddProducer("v", "1", Vp8, Video);
        for (var i = 0; i < 5; i++)
        {
            Send(Audio, Opus);
            Send(Video, Vp8);
            Send(Video, Vp8);
        }

        Assert.Equal(5, audio.PacketsReceived);
        Assert.Equal(10, video.PacketsReceived);
    }

    [Fact]
    public void A_removed_producer_gets_no_more_packets_though_its_stream_was_the_last_one_routed()
    {
        var first = AddProducer("a", "0", Opus, Audio);
        Send(Audio, Opus);
        Send(Audio, Opus);
        Assert.Equal(2, first.PacketsReceived);

        first.Close();
        _routing.RemoveProducer(first);
        var unknownBefore = RelayMetrics.DroppedUnknownSsrc.Value;
        Send(Audio, Opus);
        Assert.Equal(2, first.PacketsReceived);
        Assert.True(RelayMetrics.DroppedUnknownSsrc.Value > unknownBefore, "the packet was dropped as of an unknown stream");

        // The same stream under a producer made afresh (a track changed by renegotiation) goes to the new one.
        var second = AddProducer("a2", "0", Opus, Audio);
        Send(Audio, Opus);
        Assert.Equal(1, second.PacketsReceived);
        Assert.Equal(2, first.PacketsReceived);
    }

    [Fact]
    public void A_binding_replaced_while_its_stream_flows_sends_the_next_packet_to_the_new_producer()
    {
        var first = AddProducer("v", "1", Vp8, Video);
        Send(Video, Vp8);
        Send(Audio, Opus); // not bound: dropped, and the video binding stays one of the last two
        var second = AddProducer("v2", "2", Vp8, Video);
        Send(Video, Vp8);
        Assert.Equal(1, first.PacketsReceived);
        Assert.Equal(1, second.PacketsReceived);
    }

    private Producer AddProducer(string id, string mid, RtpCodec codec, uint ssrc)
    {
        var parameters = new ProducerParameters(mid, codec.Kind, codec, new HeaderExtensionIds(), [new ProducerEncoding(null, ssrc, null)], "s", "t");
        var producer = new Producer(id, parameters, _transport, MediaGate.AlwaysOpen, new RetransmissionBlocks());
        _routing.AddProducer(producer);
        return producer;
    }

    private void Send(uint ssrc, RtpCodec codec)
    {
        var buffer = new byte[200];
        var writer = new RtpHeaderWriter(buffer, (byte)codec.PayloadType, _sequence++, 1000u * _sequence, ssrc, marker: false);
        var length = writer.Complete();
        // A VP8 payload descriptor (RFC 7741 §4.2: S bit, partition 0) and a few bytes of an interframe.
        buffer[length] = 0x10;
        buffer[length + 1] = 0x01;
        _routing.OnRtp(_transport, buffer.AsSpan(0, length + 20));
    }
}
