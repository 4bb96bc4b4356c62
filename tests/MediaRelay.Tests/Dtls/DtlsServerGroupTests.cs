using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Fuzz;
using Teletherapy.MediaRelay.Fuzz.Targets;
using DtlsServer = Teletherapy.MediaRelay.Dtls.DtlsServer;

namespace Teletherapy.MediaRelay.Tests.Dtls;

/// <summary>
/// The relay's DTLS server takes x25519, P-256 or P-384 for ECDHE and nothing else: a ClientHello that offers only x448
/// or P-521 (found by load-tests/fuzz.sh) cost the handshake thread up to ten times an ordinary one.
/// </summary>
public sealed class DtlsServerGroupTests
{
    private static readonly DtlsCertificate Certificate = DtlsCertificate.Generate("group-server");
    private static readonly DtlsFingerprint ClientFingerprint = DtlsCertificate.Generate("group-client").Fingerprint;

    [Theory]
    [InlineData(NamedGroup.x25519, true)]
    [InlineData(NamedGroup.secp256r1, true)]
    [InlineData(NamedGroup.secp384r1, true)]
    [InlineData(NamedGroup.x448, false)]
    [InlineData(NamedGroup.secp521r1, false)]
    public void TheServerAnswersAClientHelloOnlyForTheGroupsBrowsersOffer(int group, bool answered)
    {
        byte[] hello = ClientHelloOffering(group);
        var sent = new List<byte[]>();
        var queue = new DtlsDatagramQueue(datagram => sent.Add(datagram.ToArray()), 1200, 8);
        Assert.True(queue.Enqueue(hello));

        Assert.ThrowsAny<IOException>(() =>
            new DtlsServerProtocol().Accept(new DtlsServer(new BcTlsCrypto(), Certificate, ClientFingerprint, new DtlsOptions()), new OneShotTransport(queue)));

        // Answered: the flight has the ECDHE key exchange (RFC 8422 §5.4); refused: it stops before it.
        List<byte> messages = [.. HandshakeMessages(sent)];
        Assert.Contains(ServerHello, messages);
        Assert.Equal(answered, messages.Contains(ServerKeyExchange));
    }

    private const byte HandshakeRecord = 22;
    private const byte ServerHello = 2;
    private const byte ServerKeyExchange = 12;

    /// <summary>
    /// The handshake message types in the records sent (RFC 6347 §4.1: a 13-byte record header; §4.2.2: a 12-byte message
    /// header, the fragment length in its last 3 bytes).
    /// </summary>
    private static IEnumerable<byte> HandshakeMessages(List<byte[]> datagrams)
    {
        foreach (byte[] datagram in datagrams)
        {
            for (int record = 0; record + 13 <= datagram.Length;)
            {
                int end = Math.Min(datagram.Length, record + 13 + ((datagram[record + 11] << 8) | datagram[record + 12]));
                for (int message = record + 13; datagram[record] == HandshakeRecord && message + 12 <= end;)
                {
                    yield return datagram[message];
                    message += 12 + ((datagram[message + 9] << 16) | (datagram[message + 10] << 8) | datagram[message + 11]);
                }

                record = end;
            }
        }
    }

    /// <summary>The recorded ClientHello of our client stack with every entry of its supported_groups set to one group.</summary>
    private static byte[] ClientHelloOffering(int group)
    {
        byte[] hello = Corpus.Default.Load("dtls").First();
        for (int i = 0; i + 6 <= hello.Length; i++)
        {
            // RFC 8422 §5.1.1: extension type 10, its length, then the list's length (2 less).
            int extensionLength = (hello[i + 2] << 8) | hello[i + 3];
            int listLength = (hello[i + 4] << 8) | hello[i + 5];
            if (hello[i] == 0 && hello[i + 1] == 10 && extensionLength == listLength + 2 && listLength % 2 == 0 && i + 6 + listLength <= hello.Length)
            {
                for (int entry = i + 6; entry < i + 6 + listLength; entry += 2)
                {
                    hello[entry] = (byte)(group >> 8);
                    hello[entry + 1] = (byte)group;
                }

                return hello;
            }
        }

        throw new InvalidOperationException("The recorded ClientHello has no supported_groups extension.");
    }
}
