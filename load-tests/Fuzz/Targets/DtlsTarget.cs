using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Transport;
using DtlsServer = Teletherapy.MediaRelay.Dtls.DtlsServer;

namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>
/// DTLS records on the media port up to and into BouncyCastle. The relay itself inspects only the first byte (RFC 7983
/// §7: 20-63 is DTLS) and the size (<see cref="DtlsDatagramQueue.ReceiveLimit"/>), then queues a copy for the handshake
/// thread; here each datagram goes that way and on into BouncyCastle's DTLS 1.2 server (<see cref="DtlsServerProtocol"/>
/// with the relay's <see cref="DtlsServer"/>), as the first datagram of a new session. Once the queue is empty the
/// transport ends the handshake, so a record that does not fail at once costs no handshake timeout. BouncyCastle
/// reports bad records with a TLS alert (an IOException), which DtlsSession turns into a failed handshake; any other
/// exception type, a datagram that comes out of the queue changed, or a slow record is a finding.
/// </summary>
internal sealed class DtlsTarget : FuzzTarget
{
    private static readonly DtlsCertificate Certificate = DtlsCertificate.Generate("fuzz-server");
    private static readonly DtlsFingerprint ClientFingerprint = DtlsCertificate.Generate("fuzz-client").Fingerprint;
    private readonly BcTlsCrypto _crypto = new();
    private readonly DtlsOptions _options = new() { HandshakeTimeout = TimeSpan.FromSeconds(1) };
    private readonly byte[] _received = new byte[DtlsDatagramQueue.ReceiveLimit];

    public override string Name => "dtls";

    public override string EntryPoints =>
        "Demultiplexer.Classify, DtlsDatagramQueue.Enqueue/Receive, then BouncyCastle DtlsServerProtocol.Accept with the " +
        "relay's DtlsServer (record layer, ClientHello and the server's first flight)";

    // The record length (RFC 6347 §4.1: after type, version, epoch and sequence number) and, in a handshake record,
    // the handshake message length's low bytes and the fragment length's.
    public override int[] LengthOffsets => [11, 15, 22];

    public override IEnumerable<byte[]> Seeds(Corpus corpus) => corpus.Load(Name) is { } recorded && recorded.Any()
        ? recorded
        : [Bytes.Hex("16FEFF0000000000000000000C 010000000000000000000000")];

    public override bool Run(byte[] input)
    {
        PacketClass packetClass = Demultiplexer.Classify(input);
        Check.That(packetClass == PacketClass.Dtls || input.Length < 2 || input[0] is < 20 or > 63, "a DTLS first byte not classified as DTLS");
        var queue = new DtlsDatagramQueue(static _ => { }, _options.SendLimit, _options.ReceiveQueueCapacity);
        bool queued = queue.Enqueue(input);
        Check.That(queued == (input.Length is > 0 and <= DtlsDatagramQueue.ReceiveLimit), "the queue's size check is off");
        if (!queued)
        {
            return false;
        }

        int length = queue.Receive(_received, 0);
        Check.That(length == input.Length && _received.AsSpan(0, length).SequenceEqual(input), "a datagram changed in the queue");
        queue.Enqueue(input);
        try
        {
            new DtlsServerProtocol().Accept(new DtlsServer(_crypto, Certificate, ClientFingerprint, _options), new OneShotTransport(queue));
        }
        catch (IOException)
        {
            // A TLS alert or the end of the input: what DtlsSession.Run reports as a failed handshake.
        }

        return packetClass == PacketClass.Dtls;
    }
}

/// <summary>The relay's queue as BouncyCastle's transport, ending the handshake when it has nothing more.</summary>
internal sealed class OneShotTransport(DtlsDatagramQueue queue) : DatagramTransport
{
    public int GetReceiveLimit() => queue.GetReceiveLimit();

    public int GetSendLimit() => queue.GetSendLimit();

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis) =>
        queue.Count > 0 ? queue.Receive(buffer, 0) : throw new IOException("End of the fuzz input.");

    public void Send(byte[] buf, int off, int len) => queue.Send(buf, off, len);

    public void Send(ReadOnlySpan<byte> buffer) => queue.Send(buffer);

    public void Close() => queue.Close();
}
