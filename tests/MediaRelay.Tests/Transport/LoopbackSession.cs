using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>
/// Our server stack (shared <see cref="MediaSockets"/> + <see cref="WebRtcTransport"/>) and our client stack
/// (<see cref="WebRtcClientTransport"/>) connected over real loopback sockets, with listeners that record
/// every decrypted packet on both sides.
/// </summary>
internal sealed class LoopbackSession : IDisposable
{
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(10);

    private static readonly DtlsCertificate ServerCertificate = DtlsCertificate.Generate("loopback-server");
    private static readonly DtlsCertificate ClientCertificate = DtlsCertificate.Generate("loopback-client");

    private LoopbackSession(MediaSockets sockets, WebRtcTransport server, WebRtcClientTransport client)
    {
        Sockets = sockets;
        Server = server;
        Client = client;
    }

    public MediaSockets Sockets { get; }

    /// <summary>"udp" or "tcp" (test data is public, the enum internal).</summary>
    public static IceTransportProtocol Protocol(string transport) => Enum.Parse<IceTransportProtocol>(transport, ignoreCase: true);

    public WebRtcTransport Server { get; }

    public RecordingServerListener ServerListener { get; } = new();

    public WebRtcClientTransport Client { get; }

    public RecordingClientListener ClientListener { get; } = new();

    /// <summary>Media sockets on system-chosen loopback ports; <paramref name="configure"/> may set the ICE-TCP limits.</summary>
    public static async Task<MediaSockets> StartSocketsAsync(Action<MediaOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new MediaOptions { UdpPort = 0, TcpPort = 0, BindAddress = "127.0.0.1" };
        configure?.Invoke(options);
        var sockets = new MediaSockets(Options.Create(options), NullLogger<MediaSockets>.Instance, time);
        await sockets.StartAsync(CancellationToken.None);
        return sockets;
    }

    /// <summary>Starts the server side, connects a client with <paramref name="clientOptions"/>, waits until both ends have keys.</summary>
    public static async Task<LoopbackSession> ConnectAsync(IceTransportProtocol protocol, DtlsOptions? clientOptions = null) =>
        await ConnectAsync(protocol, await StartSocketsAsync(), clientOptions);

    /// <summary>
    /// As <see cref="ConnectAsync(IceTransportProtocol, DtlsOptions?)"/> on the given sockets (disposed with the session);
    /// the client reads through <paramref name="receiveGroup"/> when one is given, or is on <paramref name="sharedPort"/>,
    /// and keeps its ICE time by <paramref name="clientTime"/> (the system's when null).
    /// </summary>
    public static async Task<LoopbackSession> ConnectAsync(
        IceTransportProtocol protocol,
        MediaSockets sockets,
        DtlsOptions? clientOptions = null,
        DtlsHandshakeSlots? handshakeSlots = null,
        ClientReceiveGroup? receiveGroup = null,
        ClientUdpPort? sharedPort = null,
        TimeProvider? clientTime = null)
    {
        var server = new WebRtcTransport("loopback", sockets.Directory, ServerCertificate, TimeProvider.System, handshakeSlots: handshakeSlots);
        var clientIce = IceCredentials.Create();
        server.SetRemote(clientIce.Ufrag, ClientCertificate.Fingerprint);
        int port = protocol == IceTransportProtocol.Udp ? sockets.UdpPort : sockets.TcpPort;
        var client = new WebRtcClientTransport(
            clientIce,
            ClientCertificate,
            server.LocalIce.Ufrag,
            server.LocalIce.Password,
            server.LocalFingerprint,
            new IPEndPoint(IPAddress.Loopback, port),
            protocol,
            clientOptions,
            clientTime)
        {
            ReceiveGroup = receiveGroup,
            SharedPort = sharedPort,
        };
        var session = new LoopbackSession(sockets, server, client);
        server.SetListener(session.ServerListener);
        client.SetListener(session.ClientListener);
        try
        {
            await client.ConnectAsync().WaitAsync(StepTimeout);

            // The server installs its keys on its own DTLS thread; media it sends before that is not possible.
            await session.ServerListener.Connected.Task.WaitAsync(StepTimeout);
        }
        catch
        {
            session.Dispose();
            throw;
        }

        return session;
    }

    /// <summary>
    /// <paramref name="count"/> sessions over UDP, each on sockets of its own, connected at once; the clients read through
    /// <paramref name="receiveGroup"/> or are on <paramref name="sharedPort"/> when given. All or none: a failure disposes
    /// the ones that connected.
    /// </summary>
    public static async Task<LoopbackSession[]> ConnectManyAsync(int count, ClientReceiveGroup? receiveGroup = null, ClientUdpPort? sharedPort = null)
    {
        Task<LoopbackSession>[] connects = Enumerable.Range(0, count)
            .Select(async _ => await ConnectAsync(IceTransportProtocol.Udp, await StartSocketsAsync(), receiveGroup: receiveGroup, sharedPort: sharedPort))
            .ToArray();
        try
        {
            return await Task.WhenAll(connects);
        }
        catch
        {
            DisposeAll(connects.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
            throw;
        }
    }

    public static void DisposeAll(IEnumerable<LoopbackSession> sessions)
    {
        foreach (LoopbackSession session in sessions)
        {
            session.Dispose();
        }
    }

    /// <summary>
    /// Writes an RTP packet of <paramref name="ssrc"/> into <paramref name="buffer"/> whose payload (100 to 999 bytes)
    /// follows from <paramref name="seed"/>, so a receiver can tell each one apart; returns its length.
    /// </summary>
    public static int WriteTestRtp(byte[] buffer, uint ssrc, ushort sequence, int seed)
    {
        int header = new RtpHeaderWriter(buffer, 96, sequence, (uint)seed * 3000, ssrc, marker: false).Complete();
        int payload = 100 + (seed % 900);
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(header), seed);
        buffer.AsSpan(header + 4, payload - 4).Fill((byte)seed);
        return header + payload;
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
        Sockets.Dispose();
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds} s waiting for {what}.");
            }

            await Task.Delay(5);
        }
    }
}

/// <summary>Copies of every decrypted packet a server transport reported, and its lifecycle events.</summary>
internal sealed class RecordingServerListener : IWebRtcTransportListener
{
    public ConcurrentQueue<byte[]> Rtp { get; } = new();

    public ConcurrentQueue<byte[]> Rtcp { get; } = new();

    public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int ClosedCalls;

    public void OnRtp(WebRtcTransport transport, Span<byte> packet) => Rtp.Enqueue(packet.ToArray());

    public void OnRtcp(WebRtcTransport transport, Span<byte> packet) => Rtcp.Enqueue(packet.ToArray());

    public void OnConnected(WebRtcTransport transport) => Connected.TrySetResult();

    public void OnClosed(WebRtcTransport transport)
    {
        Interlocked.Increment(ref ClosedCalls);
        Closed.TrySetResult();
    }
}

/// <summary>Copies of every decrypted packet a client transport reported.</summary>
internal sealed class RecordingClientListener : IWebRtcClientTransportListener
{
    public ConcurrentQueue<byte[]> Rtp { get; } = new();

    public ConcurrentQueue<byte[]> Rtcp { get; } = new();

    public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void OnRtp(WebRtcClientTransport transport, Span<byte> packet) => Rtp.Enqueue(packet.ToArray());

    public void OnRtcp(WebRtcClientTransport transport, Span<byte> packet) => Rtcp.Enqueue(packet.ToArray());

    public void OnClosed(WebRtcClientTransport transport) => Closed.TrySetResult();
}
