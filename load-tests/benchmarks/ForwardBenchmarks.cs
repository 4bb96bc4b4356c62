using BenchmarkDotNet.Attributes;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Benchmarks;

/// <summary>
/// The routing hot path without crypto or sockets: one producer packet rewritten for N subscribers
/// (SSRC, sequence, timestamp, payload type, extension ids, transport-wide sequence, abs-send-time).
/// </summary>
[MemoryDiagnoser]
public class ForwardBenchmarks
{
    private readonly byte[] _packet = new byte[1200];
    private Producer _producer = null!;
    private int _length;
    private ushort _sequence;

    [Params(1, 4)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var transport = new WebRtcTransport("bench", new TransportDirectory(), DtlsCertificate.Generate(), TimeProvider.System);
        var extensions = new HeaderExtensionIds { Mid = 4, AbsSendTime = 2, TransportWideCc = 3 };
        var codec = new RtpCodec(MediaKind.Audio, "opus", 111, 48000, 2);
        var parameters = new ProducerParameters("0", MediaKind.Audio, codec, extensions, [new ProducerEncoding(null, 0x1234, null)], "s", "t");
        _producer = new Producer("p", parameters, transport, OpenGate.Instance, new RetransmissionBlocks());
        for (var i = 0; i < Subscribers; i++)
        {
            var consumer = new ConsumerParameters("0", MediaKind.Audio, codec with { PayloadType = 100 }, new HeaderExtensionIds { Mid = 1, AbsSendTime = 5, TransportWideCc = 6 }, (uint)(0x5000 + i), null, "c", "s", "t");
            _producer.AddConsumer(new Consumer("c" + i, consumer, _producer, new DiscardingTransport(), OpenGate.Instance));
        }

        var writer = new RtpHeaderWriter(_packet, 111, 1, 960, 0x1234, marker: false);
        writer.AddOneByteExtension(4, [(byte)'0']);
        writer.AddOneByteExtension(2, [1, 2, 3]);
        writer.AddOneByteExtension(3, [0, 1]);
        _length = writer.Complete() + 160;
    }

    [Benchmark]
    public int Forward()
    {
        _sequence++;
        _packet[2] = (byte)(_sequence >> 8);
        _packet[3] = (byte)_sequence;
        var span = _packet.AsSpan(0, _length);
        RtpHeader.TryRead(span, out var header);
        _producer.OnRtp(span, header, 0);
        return _length;
    }

    private sealed class DiscardingTransport : ISubscriberTransport
    {
        private ushort _next;

        public bool IsConnected => true;

        public bool SendRtp(Span<byte> buffer, int length) => length > 0;

        public ushort NextTransportSequence() => ++_next;
    }
}
