using System.Net;
using System.Net.Sockets;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>
/// Client transports that share a <see cref="ClientReceiveGroup"/>'s threads instead of one receive thread each, against
/// our server stack over real loopback UDP: the handshake and media as on a thread of their own, and closing one (or
/// many at once) without disturbing the others or the group's fixed threads.
/// </summary>
public sealed class ClientReceiveGroupTests
{
    private const int Clients = 4;

    [Theory(Timeout = 30000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ClientsCompleteDtlsAndReceiveExactlyTheirOwnMediaInAGroupAsOnThreadsOfTheirOwn(bool shared)
    {
        using var group = new ClientReceiveGroup(threads: 2);
        Assert.True(group.IsActive, "64-bit Linux, where the group reads with epoll and recvmmsg");
        LoopbackSession[] sessions = await LoopbackSession.ConnectManyAsync(Clients, shared ? group : null);
        try
        {
            foreach (LoopbackSession session in sessions)
            {
                Assert.Equal(WebRtcTransportState.Connected, session.Client.State);
                Assert.NotNull(session.Client.Profile);
                Assert.Equal(shared, session.Client.ReceivesInGroup);
            }

            Assert.Equal(shared ? Clients : 0, group.Count);
            Assert.Equal(shared ? Clients : 0, group.KernelRegistrations());

            // Every server sends its own stream; each client must get exactly that one, every packet, byte for byte.
            var sent = new List<byte[]>[Clients];
            byte[] buffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
            for (int round = 0; round < 4; round++)
            {
                for (int c = 0; c < Clients; c++)
                {
                    sent[c] ??= [];
                    for (int i = 0; i < 50; i++)
                    {
                        int length = LoopbackSession.WriteTestRtp(buffer, Ssrc(c), (ushort)sent[c].Count, sent[c].Count);
                        sent[c].Add(buffer[..length]);
                        Assert.True(sessions[c].Server.SendRtp(buffer, length));
                    }
                }

                int expected = (round + 1) * 50;
                await LoopbackSession.WaitUntilAsync(
                    () => sessions.All(s => s.ClientListener.Rtp.Count >= expected), LoopbackSession.StepTimeout, $"{expected} packets at every client");
            }

            for (int c = 0; c < Clients; c++)
            {
                Assert.Equal(sent[c], sessions[c].ClientListener.Rtp.ToArray());

                // And the other way, on the same sockets.
                int length = LoopbackSession.WriteTestRtp(buffer, Ssrc(c) + 100, 1, 1);
                byte[] copy = buffer[..length];
                Assert.True(sessions[c].Client.SendRtp(buffer, length));
                await LoopbackSession.WaitUntilAsync(() => !sessions[c].ServerListener.Rtp.IsEmpty, LoopbackSession.StepTimeout, "the client's packet");
                Assert.Equal(copy, Assert.Single(sessions[c].ServerListener.Rtp));
            }
        }
        finally
        {
            LoopbackSession.DisposeAll(sessions);
        }

        Assert.Equal(0, group.Count);
        Assert.Equal(0, group.KernelRegistrations());
    }

    [Fact(Timeout = 30000)]
    public async Task ClosingOneClientTakesOnlyItsSocketOutOfTheGroupAndTheOthersKeepReceiving()
    {
        using var group = new ClientReceiveGroup(threads: 2);
        LoopbackSession[] sessions = await LoopbackSession.ConnectManyAsync(Clients, group);
        using var stop = new CancellationTokenSource();
        Task pump = Task.Run(() => PumpAsync(sessions, stop.Token));
        try
        {
            await LoopbackSession.WaitUntilAsync(() => sessions.All(s => s.ClientListener.Rtp.Count >= 20), LoopbackSession.StepTimeout, "media at every client");

            sessions[0].Client.Dispose();
            await sessions[0].ClientListener.Closed.Task.WaitAsync(LoopbackSession.StepTimeout);
            int closedCount = sessions[0].ClientListener.Rtp.Count;

            Assert.False(sessions[0].Client.ReceivesInGroup);
            Assert.Equal(Clients - 1, group.Count);
            Assert.Equal(Clients - 1, group.KernelRegistrations());
            Assert.Equal(2, group.ThreadCount);
            Assert.Equal(2, group.LiveThreads);

            int[] before = sessions.Select(s => s.ClientListener.Rtp.Count).ToArray();
            await LoopbackSession.WaitUntilAsync(
                () => sessions.Skip(1).Select((s, i) => s.ClientListener.Rtp.Count - before[i + 1]).All(n => n >= 50),
                LoopbackSession.StepTimeout,
                "50 more packets at each client still open");
            Assert.Equal(closedCount, sessions[0].ClientListener.Rtp.Count);
            Assert.All(sessions.Skip(1), s => Assert.Equal(WebRtcTransportState.Connected, s.Client.State));
        }
        finally
        {
            await stop.CancelAsync();
            await pump;
            LoopbackSession.DisposeAll(sessions);
        }

        Assert.Equal(0, group.Count);
        Assert.Equal(0, group.KernelRegistrations());
        Assert.Equal(2, group.LiveThreads);
        group.Dispose();
        Assert.Equal(0, group.LiveThreads);
    }

    [Fact(Timeout = 30000)]
    public async Task SocketsClosedWhileDatagramsFlowAreRemovedInEitherOrderAndTheRestKeepReceiving()
    {
        const int Count = 16;
        using var group = new ClientReceiveGroup(threads: 2);
        using Socket sender = LoopbackUdp(peer: null);
        var sockets = new Socket[Count];
        var receivers = new CountingReceiver[Count];
        var registrations = new ClientReceiveGroup.Registration[Count];
        for (int i = 0; i < Count; i++)
        {
            sockets[i] = LoopbackUdp(sender.LocalEndPoint);
            receivers[i] = new CountingReceiver();
            registrations[i] = group.TryAdd(sockets[i], receivers[i]) ?? throw new InvalidOperationException("not added");
        }

        EndPoint[] targets = sockets.Select(s => s.LocalEndPoint!).ToArray();
        using var stop = new CancellationTokenSource();
        Task blast = Task.Run(async () =>
        {
            byte[] datagram = new byte[200];
            while (!stop.IsCancellationRequested)
            {
                foreach (EndPoint target in targets)
                {
                    sender.SendTo(datagram, target);
                }

                await Task.Delay(1);
            }
        });
        try
        {
            await LoopbackSession.WaitUntilAsync(() => receivers.All(r => r.Count >= 10), LoopbackSession.StepTimeout, "datagrams on every socket");

            // Half of them closed at once from many threads: some removed first (the right order), some disposed first.
            await Task.WhenAll(Enumerable.Range(0, Count / 2).Select(i => Task.Run(() =>
            {
                if (i % 2 == 0)
                {
                    registrations[i].Remove();
                    sockets[i].Dispose();
                }
                else
                {
                    sockets[i].Dispose();
                    registrations[i].Remove();
                }

                registrations[i].Remove();
            })));
            int[] closedCounts = receivers.Take(Count / 2).Select(r => r.Count).ToArray();

            Assert.Equal(Count / 2, group.Count);
            Assert.Equal(Count / 2, group.KernelRegistrations());
            Assert.Equal(2, group.LiveThreads);
            int[] before = receivers.Select(r => r.Count).ToArray();
            await LoopbackSession.WaitUntilAsync(
                () => Enumerable.Range(Count / 2, Count / 2).All(i => receivers[i].Count - before[i] >= 20),
                LoopbackSession.StepTimeout,
                "more datagrams on every open socket");
            Assert.Equal(closedCounts, receivers.Take(Count / 2).Select(r => r.Count).ToArray());
        }
        finally
        {
            await stop.CancelAsync();
            await blast;
        }

        group.Dispose();
        Assert.Equal(0, group.LiveThreads);
        Assert.Equal(0, group.Count);
        Assert.Null(group.TryAdd(sockets[^1], receivers[^1]));
        foreach (ClientReceiveGroup.Registration registration in registrations)
        {
            registration.Remove();
        }

        foreach (Socket socket in sockets)
        {
            socket.Dispose();
        }
    }

    [Fact(Timeout = 30000)]
    public async Task WithAPauseAfterEachWakeUpEveryDatagramArrivesAndEachWakeUpReadsSeveral()
    {
        const int Sockets = 4;
        const int PerSocket = 50;
        using var group = new ClientReceiveGroup(threads: 1, coalesceMicroseconds: 5000);
        using Socket sender = LoopbackUdp(peer: null);
        var sockets = new Socket[Sockets];
        var receivers = new CountingReceiver[Sockets];
        try
        {
            for (int i = 0; i < Sockets; i++)
            {
                sockets[i] = LoopbackUdp(sender.LocalEndPoint);
                receivers[i] = new CountingReceiver();
                Assert.NotNull(group.TryAdd(sockets[i], receivers[i]));
            }

            // One datagram at a time, 0.5 ms or more apart: without the pause nearly every one is a wake-up of its own;
            // with a pause of 5 ms each wake-up finds about ten.
            byte[] datagram = new byte[100];
            for (int n = 0; n < Sockets * PerSocket; n++)
            {
                sender.SendTo(datagram, sockets[n % Sockets].LocalEndPoint!);
                LinuxSocketCalls.SleepMicroseconds(500);
            }

            await LoopbackSession.WaitUntilAsync(() => receivers.All(r => r.Count == PerSocket), LoopbackSession.StepTimeout, "every datagram");
            Assert.Equal(Sockets * PerSocket, group.Datagrams);
            Assert.True(group.Datagrams >= 2.5 * group.WakeUps, $"{group.Datagrams} datagrams in {group.WakeUps} wake-ups");
        }
        finally
        {
            foreach (Socket? socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }

    [Fact(Timeout = 30000)]
    public async Task AClientWhoseGroupCannotReceiveReadsWithAThreadOfItsOwn()
    {
        var group = new ClientReceiveGroup(threads: 1);
        group.Dispose();
        Assert.False(group.IsActive);

        using LoopbackSession session = await LoopbackSession.ConnectAsync(IceTransportProtocol.Udp, await LoopbackSession.StartSocketsAsync(), receiveGroup: group);
        Assert.False(session.Client.ReceivesInGroup);
        byte[] buffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
        Assert.True(session.Server.SendRtp(buffer, LoopbackSession.WriteTestRtp(buffer, Ssrc(0), 1, 1)));
        await LoopbackSession.WaitUntilAsync(() => !session.ClientListener.Rtp.IsEmpty, LoopbackSession.StepTimeout, "the server's packet");
    }

    /// <summary>A UDP socket on a loopback port of its own, connected to <paramref name="peer"/> when one is given.</summary>
    private static Socket LoopbackUdp(EndPoint? peer)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (peer is not null)
        {
            socket.Connect(peer);
        }

        return socket;
    }

    private static uint Ssrc(int client) => 0x5000_0000u + (uint)client;

    /// <summary>Each server sends a packet to its client every millisecond or so until stopped (a closed one refuses).</summary>
    private static async Task PumpAsync(LoopbackSession[] sessions, CancellationToken stop)
    {
        byte[] buffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
        for (int sequence = 0; !stop.IsCancellationRequested; sequence++)
        {
            for (int c = 0; c < sessions.Length; c++)
            {
                sessions[c].Server.SendRtp(buffer, LoopbackSession.WriteTestRtp(buffer, Ssrc(c), (ushort)sequence, sequence));
            }

            await Task.Delay(1, CancellationToken.None);
        }
    }

    private sealed class CountingReceiver : IDatagramReceiver
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void OnDatagram(Span<byte> datagram) => Interlocked.Increment(ref _count);
    }
}
