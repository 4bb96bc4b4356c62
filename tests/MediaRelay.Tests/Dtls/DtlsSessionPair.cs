using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;

namespace Teletherapy.MediaRelay.Tests.Dtls;

/// <summary>A DTLS server and client wired back to back through in-memory queues, with hooks to lose datagrams.</summary>
internal sealed class DtlsSessionPair : IDisposable
{
    public static readonly DtlsCertificate ServerCertificate = DtlsCertificate.Generate("server");
    public static readonly DtlsCertificate ClientCertificate = DtlsCertificate.Generate("client");

    private int _clientDatagrams;
    private int _serverDatagrams;

    public DtlsSessionPair(
        DtlsOptions? serverOptions = null,
        DtlsOptions? clientOptions = null,
        DtlsFingerprint? serverExpects = null,
        DtlsFingerprint? clientExpects = null,
        Func<int, bool>? dropFromClient = null,
        Func<int, bool>? dropFromServer = null,
        DtlsCertificate? clientCertificate = null,
        Func<byte[], bool>? dropServerDatagram = null)
    {
        clientCertificate ??= ClientCertificate;
        Server = new DtlsSession(
            ServerCertificate,
            serverExpects ?? clientCertificate.Fingerprint,
            datagram =>
            {
                int n = Interlocked.Increment(ref _serverDatagrams);
                MaxServerDatagram = Math.Max(MaxServerDatagram, datagram.Length);
                if (dropFromServer?.Invoke(n) != true && dropServerDatagram?.Invoke(datagram.ToArray()) != true)
                {
                    Client!.Enqueue(datagram);
                }
            },
            serverOptions);
        Client = DtlsClient.Session(
            clientCertificate,
            clientExpects ?? ServerCertificate.Fingerprint,
            datagram =>
            {
                int n = Interlocked.Increment(ref _clientDatagrams);
                MaxClientDatagram = Math.Max(MaxClientDatagram, datagram.Length);
                if (dropFromClient?.Invoke(n) != true)
                {
                    Server.Enqueue(datagram);
                }
            },
            clientOptions);
    }

    public DtlsSession Server { get; }

    public DtlsSession Client { get; }

    public int MaxClientDatagram { get; private set; }

    public int MaxServerDatagram { get; private set; }

    public int ClientDatagrams => Volatile.Read(ref _clientDatagrams);

    public void Start()
    {
        Server.Start();
        Client.Start();
    }

    public async Task<(DtlsSrtpKeys Server, DtlsSrtpKeys Client)> HandshakeAsync()
    {
        Start();
        DtlsSrtpKeys server = await Server.Handshake.WaitAsync(TimeSpan.FromSeconds(15));
        DtlsSrtpKeys client = await Client.Handshake.WaitAsync(TimeSpan.FromSeconds(15));
        return (server, client);
    }

    public void Dispose()
    {
        Client.Close();
        Server.Close();
    }
}
