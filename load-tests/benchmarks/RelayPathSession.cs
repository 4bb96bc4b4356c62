using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Srtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Benchmarks;

/// <summary>
/// One 1:1 session's audio in one direction, as the relay holds it: its own keys, producer, consumer and subscriber
/// (<see cref="RelayPathBenchmarks"/>, <see cref="PauseMeasurement"/>).
/// </summary>
internal sealed class RelayPathSession : IDisposable
{
    private readonly SrtpContext _publisher;
    private readonly WebRtcTransport _transport;
    private readonly byte[] _template;
    private readonly int _templateLength;
    private ushort _sequence;
    private uint _timestamp;

    public RelayPathSession(Random random, TransportDirectory directory, DtlsCertificate certificate, uint ssrc, int payloadLength)
    {
        _template = new byte[payloadLength + 40];
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
        random.NextBytes(_template.AsSpan(header, payloadLength));
        _templateLength = header + payloadLength;
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

    /// <summary>
    /// The relay's part: unprotects the publisher's packet in <paramref name="buffer"/> and hands it to the producer,
    /// whose consumer rewrites it and protects it for the subscriber.
    /// </summary>
    public void Forward(byte[] buffer, int length) => Route(buffer, Unprotect(buffer, length));

    /// <summary>The first half of <see cref="Forward"/>: the publisher's packet unprotected in place; its length.</summary>
    public int Unprotect(byte[] buffer, int length) =>
        RelayReceive.TryUnprotectRtp(buffer, length, out length) ? length : throw new InvalidOperationException("The publisher's packet did not unprotect.");

    /// <summary>The second half of <see cref="Forward"/>: the unprotected packet to the producer, its consumer and the subscriber.</summary>
    public void Route(byte[] buffer, int length)
    {
        if (!RtpHeader.TryRead(buffer.AsSpan(0, length), out var header))
        {
            throw new InvalidOperationException("The publisher's packet did not parse.");
        }

        Producer.OnRtp(buffer.AsSpan(0, length), header, 0);
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
internal sealed class ProtectingTransport(SrtpContext context) : SubscriberTransport, IDisposable
{
    private ushort _next;

    public int Sent { get; private set; }

    public override bool IsConnected => true;

    public override bool SendRtp(Span<byte> buffer, int length)
    {
        if (!context.TryProtectRtp(buffer, length, out _))
        {
            return false;
        }

        Sent++;
        return true;
    }

    public override ushort NextTransportSequence() => ++_next;

    public void Dispose() => context.Dispose();
}
