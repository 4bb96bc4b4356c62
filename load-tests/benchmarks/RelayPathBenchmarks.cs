using BenchmarkDotNet.Attributes;
using Teletherapy.MediaRelay.Dtls;
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
    private RelayPathSession[] _sessions = [];
    private int _next;

    [Params(1, 100, 400)]
    public int Sessions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var directory = new TransportDirectory();
        var certificate = DtlsCertificate.Generate();
        _sessions = new RelayPathSession[Sessions];
        for (var i = 0; i < Sessions; i++)
        {
            _sessions[i] = new RelayPathSession(random, directory, certificate, (uint)(0x1000 + i), PayloadLength);
        }
    }

    [Benchmark]
    public int Forward()
    {
        var session = NextSession();
        session.Forward(_packet, session.PublisherPacket(_packet));
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

    private RelayPathSession NextSession()
    {
        var session = _sessions[_next];
        _next = _next + 1 == _sessions.Length ? 0 : _next + 1;
        return session;
    }
}
