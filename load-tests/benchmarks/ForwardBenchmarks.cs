using BenchmarkDotNet.Attributes;
using Teletherapy.MediaRelay.Dtls;
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
        _producer = AudioRoute.Producer("p", 0x1234, transport);
        for (var i = 0; i < Subscribers; i++)
        {
            AudioRoute.AddConsumer(_producer, "c" + i, (uint)(0x5000 + i), new DiscardingTransport());
        }

        _length = AudioRoute.WriteHeader(_packet, 0x1234, 1, 960) + 160;
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

    private sealed class DiscardingTransport : SubscriberTransport
    {
        private ushort _next;

        public override bool IsConnected => true;

        public override bool SendRtp(Span<byte> buffer, int length) => length > 0;

        public override ushort NextTransportSequence() => ++_next;
    }
}
