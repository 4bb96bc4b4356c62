using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Fuzz;

/// <summary>
/// Records the seed corpus from the wire: the relay's server stack (<see cref="MediaSockets"/>, <see cref="WebRtcTransport"/>)
/// and its client stack (<see cref="WebRtcClientTransport"/>) on loopback, once over UDP and once over ICE-TCP, with a
/// recording proxy between them. Saved: STUN checks and responses, every DTLS datagram of the handshake, SRTP and
/// SRTCP as sent, the RTP, RTCP and VP8 payloads the server decrypted, and the start of both TCP streams (RFC 4571
/// frames). A few KB in all; the ICE credentials of the UDP session go with the STUN seeds so their integrity verifies.
/// </summary>
internal static class CorpusRecorder
{
    private const int StreamBytes = 1024;

    public static async Task RecordAsync(string directory)
    {
        using var sockets = new MediaSockets(Options.Create(new MediaOptions { UdpPort = 0, TcpPort = 0, BindAddress = "127.0.0.1" }), NullLogger<MediaSockets>.Instance);
        await sockets.StartAsync(CancellationToken.None);
        var udp = new ConcurrentQueue<(bool ToRelay, byte[] Datagram)>();
        var listener = new Listener();
        using (var proxy = new UdpProxy(new IPEndPoint(IPAddress.Loopback, sockets.UdpPort), udp))
        {
            (WebRtcTransport server, WebRtcClientTransport client, IceCredentials clientIce) = await ConnectAsync(sockets, proxy.EndPoint, IceTransportProtocol.Udp, listener);
            using (server)
            using (client)
            {
                SendMedia(client);
                await WaitAsync(() => listener.Rtp.Count >= 3 && listener.Rtcp.Count >= 3, "media over UDP");
                Save(directory, "stun", "ice-credentials.txt", System.Text.Encoding.ASCII.GetBytes(
                    $"{server.LocalIce.Ufrag} {server.LocalIce.Password}\n{clientIce.Ufrag} {clientIce.Password}\n"));
            }
        }

        var tcp = new ConcurrentQueue<(bool ToRelay, byte[] Datagram)>();
        using (var proxy = new TcpProxy(new IPEndPoint(IPAddress.Loopback, sockets.TcpPort), tcp))
        {
            (WebRtcTransport server, WebRtcClientTransport client, _) = await ConnectAsync(sockets, proxy.EndPoint, IceTransportProtocol.Tcp, new Listener());
            using (server)
            using (client)
            {
                SendMedia(client);
                await WaitAsync(() => proxy.Recorded(toRelay: true) >= StreamBytes && proxy.Recorded(toRelay: false) >= StreamBytes / 2, "ICE-TCP streams");
            }
        }

        SaveDatagrams(directory, [.. udp]);
        foreach ((bool toRelay, byte[] stream) in tcp)
        {
            Save(directory, "rfc4571", toRelay ? "loopback-client.bin" : "loopback-relay.bin", stream);
        }

        int n = 0;
        foreach (byte[] rtp in listener.Rtp.Take(3))
        {
            Save(directory, "rtp", $"loopback-{n}.bin", rtp[..Math.Min(rtp.Length, 96)]);
            RtpHeader.TryRead(rtp, out RtpHeader header);
            Save(directory, "vp8", $"loopback-{n++}.bin", header.Payload[..Math.Min(header.PayloadLength, 16)].ToArray());
        }

        n = 0;
        foreach (byte[] rtcp in listener.Rtcp.Take(3))
        {
            Save(directory, "rtcp", $"loopback-{n++}.bin", rtcp);
        }
    }

    private static async Task<(WebRtcTransport, WebRtcClientTransport, IceCredentials)> ConnectAsync(
        MediaSockets sockets, IPEndPoint relay, IceTransportProtocol protocol, Listener listener)
    {
        DtlsCertificate serverCertificate = DtlsCertificate.Generate("corpus-server");
        DtlsCertificate clientCertificate = DtlsCertificate.Generate("corpus-client");
        var server = new WebRtcTransport("corpus", sockets.Directory, serverCertificate, TimeProvider.System);
        var clientIce = IceCredentials.Create();
        server.SetRemote(clientIce.Ufrag, clientCertificate.Fingerprint);
        server.SetListener(listener);
        var client = new WebRtcClientTransport(
            clientIce, clientCertificate, server.LocalIce.Ufrag, server.LocalIce.Password, server.LocalFingerprint, relay, protocol);
        await client.ConnectAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await WaitAsync(() => server.State == WebRtcTransportState.Connected, "the server's keys");
        return (server, client, clientIce);
    }

    /// <summary>VP8 with a PictureID and TL0PICIDX behind mid/abs-send-time/TWCC extensions, then RTCP of every kind the relay reads.</summary>
    private static void SendMedia(WebRtcClientTransport client)
    {
        byte[] buffer = new byte[1500];
        for (int i = 0; i < 3; i++)
        {
            var writer = new RtpHeaderWriter(buffer, 96, (ushort)(100 + i), 3000u * (uint)i, 0x1111_2222, marker: i == 2);
            writer.AddOneByteExtension(1, "0"u8);
            writer.AddOneByteExtension(2, [0x12, 0x34, (byte)i]);
            writer.AddOneByteExtension(3, [0, (byte)i]);
            int length = writer.Complete();
            // RFC 7741 §4.2: X, S, partition 0; I and L with a 15-bit PictureID; then the VP8 frame tag (keyframe first).
            byte[] vp8 = [0x90, 0xE0, 0x80, (byte)(0x10 + i), (byte)i, 0x40, (byte)(i == 0 ? 0x10 : 0x11), 0x02, 0x00, 0x9D, 0x01, 0x2A];
            vp8.CopyTo(buffer, length);
            Random.Shared.NextBytes(buffer.AsSpan(length + vp8.Length, 40));
            client.SendRtp(buffer, length + vp8.Length + 40);
        }

        var block = new ReportBlock(0x3333_4444, 0, 2, 1041, 3, 0x1234_5678, 10);
        int offset = SenderReport.Write(buffer, 0x1111_2222, 0xE5A0_0000_1234_5678UL, 90000, 3, 300, [block]);
        offset += SourceDescription.WriteCname(buffer.AsSpan(offset), 0x1111_2222, "corpus-client"u8);
        client.SendRtcp(buffer, offset);
        offset = GenericNack.Write(buffer, 0x1111_2222, 0x3333_4444, [7, 8, 20]);
        offset += PictureLossIndication.Write(buffer.AsSpan(offset), 0x1111_2222, 0x3333_4444);
        offset += ReceiverEstimatedMaxBitrate.Write(buffer.AsSpan(offset), 0x1111_2222, 1_500_000, [0x3333_4444u]);
        client.SendRtcp(buffer, offset);
        offset = TransportWideFeedback.Write(buffer, 0x1111_2222, 0x3333_4444, 1, [new(100, 64_000), new(101, 64_500), new(103, 90_000)]);
        client.SendRtcp(buffer, offset);
    }

    /// <summary>STUN, DTLS and SRTP/SRTCP datagrams of the UDP session, by what the demultiplexer says they are.</summary>
    private static void SaveDatagrams(string directory, (bool ToRelay, byte[] Datagram)[] datagrams)
    {
        int checks = 0, responses = 0, dtls = 0, rtp = 0, rtcp = 0;
        foreach ((bool toRelay, byte[] datagram) in datagrams)
        {
            string from = toRelay ? "client" : "relay";
            switch (Demultiplexer.Classify(datagram))
            {
                case PacketClass.Stun when toRelay && checks < 2:
                    Save(directory, "stun", $"loopback-check-{checks++}.bin", datagram);
                    break;
                case PacketClass.Stun when !toRelay && responses < 2:
                    Save(directory, "stun", $"loopback-response-{responses++}.bin", datagram);
                    break;
                case PacketClass.Dtls when dtls < 12:
                    Save(directory, "dtls", $"loopback-{dtls++:D2}-{from}.bin", datagram);
                    break;
                case PacketClass.Rtp when toRelay && rtp < 2:
                    Save(directory, "srtp", $"loopback-rtp-{rtp++}.bin", datagram[..Math.Min(datagram.Length, 128)]);
                    break;
                case PacketClass.Rtcp when toRelay && rtcp < 2:
                    Save(directory, "srtp", $"loopback-rtcp-{rtcp++}.bin", datagram);
                    break;
            }
        }
    }

    private static void Save(string directory, string target, string name, byte[] data)
    {
        string folder = Path.Combine(directory, target);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, name), data);
        Console.WriteLine($"{target}/{name}: {data.Length} bytes");
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(10);
        }
    }

    private sealed class Listener : IWebRtcTransportListener
    {
        public ConcurrentQueue<byte[]> Rtp { get; } = new();

        public ConcurrentQueue<byte[]> Rtcp { get; } = new();

        public void OnRtp(WebRtcTransport transport, Span<byte> packet) => Rtp.Enqueue(packet.ToArray());

        public void OnRtcp(WebRtcTransport transport, Span<byte> packet) => Rtcp.Enqueue(packet.ToArray());

        public void OnConnected(WebRtcTransport transport)
        {
        }

        public void OnClosed(WebRtcTransport transport)
        {
        }
    }

    /// <summary>One loopback socket between client and relay, keeping a copy of each datagram both ways.</summary>
    private sealed class UdpProxy : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _pump;

        public UdpProxy(IPEndPoint relay, ConcurrentQueue<(bool, byte[])> recorded)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _pump = Task.Run(async () =>
            {
                byte[] buffer = new byte[2048];
                EndPoint? client = null;
                while (!_stop.IsCancellationRequested)
                {
                    SocketReceiveFromResult received = await _socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                    bool toRelay = !received.RemoteEndPoint.Equals(relay);
                    client = toRelay ? received.RemoteEndPoint : client;
                    recorded.Enqueue((toRelay, buffer[..received.ReceivedBytes]));
                    await _socket.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), toRelay ? relay : client!, _stop.Token);
                }
            });
        }

        public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

        public void Dispose()
        {
            _stop.Cancel();
            _pump.ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(5));
            _socket.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>A loopback TCP listener that connects on to the relay and keeps the first bytes of each direction.</summary>
    private sealed class TcpProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly MemoryStream[] _streams = [new(), new()];
        private readonly ConcurrentQueue<(bool, byte[])> _recorded;
        private readonly Task _accept;

        public TcpProxy(IPEndPoint relay, ConcurrentQueue<(bool, byte[])> recorded)
        {
            _recorded = recorded;
            _listener.Start();
            _accept = Task.Run(async () =>
            {
                using TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
                using var upstream = new TcpClient();
                await upstream.ConnectAsync(relay, _stop.Token);
                await Task.WhenAny(
                    PumpAsync(client.GetStream(), upstream.GetStream(), _streams[0]),
                    PumpAsync(upstream.GetStream(), client.GetStream(), _streams[1]));
            });
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public int Recorded(bool toRelay)
        {
            lock (_streams)
            {
                return (int)_streams[toRelay ? 0 : 1].Length;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _accept.ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(5));
            lock (_streams)
            {
                _recorded.Enqueue((true, _streams[0].ToArray()));
                _recorded.Enqueue((false, _streams[1].ToArray()));
            }

            _stop.Dispose();
        }

        private async Task PumpAsync(NetworkStream from, NetworkStream to, MemoryStream copy)
        {
            byte[] buffer = new byte[4096];
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                lock (_streams)
                {
                    copy.Write(buffer, 0, Math.Max(0, Math.Min(read, StreamBytes - (int)copy.Length)));
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
    }
}
