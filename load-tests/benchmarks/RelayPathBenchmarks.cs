using BenchmarkDotNet.Attributes;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Srtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Benchmarks;

/// <summary>
/// A forwarded packet's work in the relay's own code, over as many sessions as the load tool runs: the publisher's
/// SRTP packet unprotected, routed to the subscriber (rewritten) and protected again with the subscriber's keys. Each
/// call takes the next session in turn, as packets of different sessions follow each other on the receive thread, so
/// with more sessions each packet finds less of its session's state in the caches. Each call also protects the packet
/// as the publisher would (the SRTP replay check refuses a packet seen before); <see cref="PublisherProtectOnly"/>
/// measures that part alone, to be taken off.
/// </summary>
[MemoryDiagnoser]
public class RelayPathBenchmarks
{
    private const int PayloadLength = 1000;

    private readonly byte[] _packet = new byte[1500];
    private Session[] _sessions = [];
    private int _next;

    [Params(1, 100, 400)]
    public int Sessions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var directory = new TransportDirectory();
        var certificate = DtlsCertificate.Generate();
        _sessions = new Session[Sessions];
        for (var i = 0; i < Sessions; i++)
        {
            _sessions[i] = new Session(random, directory, certificate, (uint)(0x1000 + i));
        }
    }

    [Benchmark]
    public int Forward()
    {
        var session = NextSession();
        var length = session.PublisherPacket(_packet);
        if (!session.RelayReceive.TryUnprotectRtp(_packet, length, out length) || !RtpHeader.TryRead(_packet.AsSpan(0, length), out var header))
        {
            throw new InvalidOperationException("The publisher's packet did not unprotect.");
        }

        session.Producer.OnRtp(_packet.AsSpan(0, length), header, 0);
        return session.Subscriber.Sent;
    }

    [Benchmark]
    public int PublisherProtectOnly()
    {
        var session = NextSession();
        return session.PublisherPacket(_packet);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var session in _sessions)
        {
            session.Dispose();
        }
    }

    private Session NextSession()
    {
        var session = _sessions[_next];
        _next = _next + 1 == _sessions.Length ? 0 : _next + 1;
        return session;
    }

    /// <summary>One 1:1 session's audio in one direction: its own keys, producer, consumer and subscriber.</summary>
    private sealed class Session : IDisposable
    {
        private readonly SrtpContext _publisher;
        private readonly WebRtcTransport _transport;
        private readonly byte[] _template = new byte[PayloadLength + 40];
        private readonly int _templateLength;
        private ushort _sequence;
        private uint _timestamp;

        public Session(Random random, TransportDirectory directory, DtlsCertificate certificate, uint ssrc)
        {
            var profile = SrtpProfile.AeadAes128Gcm;
            var inKey = new byte[profile.KeyLength()];
            var inSalt = new byte[profile.SaltLength()];
            var outKey = new byte[profile.KeyLength()];
            var outSalt = new byte[profile.SaltLength()];
            random.NextBytes(inKey);
            random.NextBytes(inSalt);
            random.NextBytes(outKey);
            random.NextBytes(outSalt);
            _publisher = new SrtpContext(profile, inKey, inSalt);
            RelayReceive = new SrtpContext(profile, inKey, inSalt);
            Subscriber = new ProtectingTransport(new SrtpContext(profile, outKey, outSalt));

            _transport = new WebRtcTransport("bench-" + ssrc, directory, certificate, TimeProvider.System);
            Producer = AudioRoute.Producer("p" + ssrc, ssrc, _transport);
            AudioRoute.AddConsumer(Producer, "c" + ssrc, ssrc + 0x10000, Subscriber);
            var header = AudioRoute.WriteHeader(_template, ssrc, 0, 0);
            random.NextBytes(_template.AsSpan(header, PayloadLength));
            _templateLength = header + PayloadLength;
        }

        public SrtpContext RelayReceive { get; }

        public Producer Producer { get; }

        public ProtectingTransport Subscriber { get; }

        /// <summary>The publisher's next packet, protected, in <paramref name="buffer"/>; its length.</summary>
        public int PublisherPacket(byte[] buffer)
        {
            _template.AsSpan(0, _templateLength).CopyTo(buffer);
            _sequence++;
            _timestamp += 960;
            buffer[2] = (byte)(_sequence >> 8);
            buffer[3] = (byte)_sequence;
            buffer[4] = (byte)(_timestamp >> 24);
            buffer[5] = (byte)(_timestamp >> 16);
            buffer[6] = (byte)(_timestamp >> 8);
            buffer[7] = (byte)_timestamp;
            return _publisher.TryProtectRtp(buffer, _templateLength, out var length) ? length : throw new InvalidOperationException("Protect failed.");
        }

        public void Dispose()
        {
            _publisher.Dispose();
            RelayReceive.Dispose();
            Subscriber.Dispose();
            _transport.Dispose();
        }
    }

    /// <summary>The subscriber's side of the relay: protects what it is given, as the transport does before a send.</summary>
    private sealed class ProtectingTransport(SrtpContext context) : ISubscriberTransport, IDisposable
    {
        private ushort _next;

        public int Sent { get; private set; }

        public bool IsConnected => true;

        public bool SendRtp(Span<byte> buffer, int length)
        {
            if (!context.TryProtectRtp(buffer, length, out _))
            {
                return false;
            }

            Sent++;
            return true;
        }

        public ushort NextTransportSequence() => ++_next;

        public void Dispose() => context.Dispose();
    }
}
