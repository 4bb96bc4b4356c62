using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>
/// Client transports on one shared UDP port (<see cref="ClientUdpPort"/>), each on a loopback address of its own, over
/// real loopback UDP: against our server stack as on sockets of their own, and at the port itself what a connected
/// socket's kernel filter would do (only the remote's datagrams, only to a registered address), batched sends
/// (<see cref="ClientSendBatch"/>) and hostile ancillary data.
/// </summary>
public sealed class ClientUdpPortTests
{
    private const int Clients = 4;

    [Fact(Timeout = 30000)]
    public async Task ClientsOnOnePortCompleteDtlsAndExchangeExactlyTheirOwnMediaEachFromAnAddressOfItsOwn()
    {
        using var port = new ClientUdpPort("test-port");
        Assert.True(port.IsActive, "64-bit Linux, where the port reads with recvmmsg and IP_PKTINFO");
        LoopbackSession[] sessions = await LoopbackSession.ConnectManyAsync(Clients, sharedPort: port);
        using var batch = new ClientSendBatch();
        try
        {
            Assert.Equal(Clients, port.Count);
            foreach (LoopbackSession session in sessions)
            {
                Assert.Equal(WebRtcTransportState.Connected, session.Client.State);
                Assert.True(session.Client.OnSharedPort);
                IPEndPoint local = session.Client.LocalEndPoint!;
                Assert.Equal(port.Port, local.Port);
                Assert.Equal(127, local.Address.GetAddressBytes()[0]);

                // The server's path is the client's own address: what a relay sees as the peer.
                Assert.Equal(RemoteKey.FromEndPoint(local), session.Server.SelectedPath!.Key);
            }

            Assert.Equal(Clients, sessions.Select(s => s.Client.LocalEndPoint!.Address).Distinct().Count());

            // Server to client: each client gets exactly its own stream.
            byte[] buffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
            var sent = new List<byte[]>[Clients];
            for (int c = 0; c < Clients; c++)
            {
                sent[c] = [];
                for (int i = 0; i < 60; i++)
                {
                    int length = LoopbackSession.WriteTestRtp(buffer, Ssrc(c), (ushort)i, i + c);
                    sent[c].Add(buffer[..length]);
                    Assert.True(sessions[c].Server.SendRtp(buffer, length));
                }
            }

            await LoopbackSession.WaitUntilAsync(() => sessions.All(s => s.ClientListener.Rtp.Count >= 60), LoopbackSession.StepTimeout, "60 packets at every client");
            for (int c = 0; c < Clients; c++)
            {
                Assert.Equal(sent[c], sessions[c].ClientListener.Rtp.ToArray());
            }

            // Client to server through one batch: nothing leaves before the flush, then every packet, in one call.
            var fromClients = new List<byte[]>[Clients];
            for (int i = 0; i < 5; i++)
            {
                for (int c = 0; c < Clients; c++)
                {
                    fromClients[c] ??= [];
                    int length = LoopbackSession.WriteTestRtp(buffer, Ssrc(c) + 100, (ushort)i, (i * 7) + c);
                    fromClients[c].Add(buffer[..length]);
                    Assert.True(sessions[c].Client.SendRtp(buffer, length, batch));
                }
            }

            await Task.Delay(100);
            Assert.All(sessions, s => Assert.True(s.ServerListener.Rtp.IsEmpty));
            Assert.Equal(20, batch.Flush());
            Assert.Equal(1, batch.Calls);
            await LoopbackSession.WaitUntilAsync(() => sessions.All(s => s.ServerListener.Rtp.Count >= 5), LoopbackSession.StepTimeout, "5 packets at every server");
            for (int c = 0; c < Clients; c++)
            {
                Assert.Equal(fromClients[c], sessions[c].ServerListener.Rtp.ToArray());
            }
        }
        finally
        {
            LoopbackSession.DisposeAll(sessions);
        }

        // Closed transports give their addresses back (after close_notify, sent from them).
        await LoopbackSession.WaitUntilAsync(() => port.Count == 0, LoopbackSession.StepTimeout, "every address freed");
    }

    [Fact(Timeout = 30000)]
    public async Task OnlyTheRemotesDatagramsToARegisteredAddressAreHandedOverAndARemovedOneGetsNoneAndSendsNone()
    {
        using var port = new ClientUdpPort("test-port");
        using var remote = Bound();
        using var stranger = Bound();
        var receiver = new Receiver();
        var other = new Receiver();
        ClientUdpPort.Registration registration = port.TryAdd((IPEndPoint)remote.LocalEndPoint!, receiver)!;
        ClientUdpPort.Registration second = port.TryAdd((IPEndPoint)remote.LocalEndPoint!, other)!;
        Assert.NotEqual(registration.LocalEndPoint, second.LocalEndPoint);

        // From the registration's address, to the remote.
        Assert.True(port.Send(registration, "hello"u8));
        var (data, from) = Receive(remote);
        Assert.Equal("hello"u8.ToArray(), data);
        Assert.Equal(registration.LocalEndPoint, from);

        // A stranger's datagram, one to an address nobody has, an empty one and one larger than a slot: dropped.
        stranger.SendTo("stranger"u8, registration.LocalEndPoint);
        remote.SendTo("nobody"u8, new IPEndPoint(IPAddress.Parse("127.1.255.254"), port.Port));
        remote.SendTo([], registration.LocalEndPoint);
        remote.SendTo(new byte[LinuxUdpBatch.SlotBytes + 100], registration.LocalEndPoint);
        remote.SendTo("mine"u8, registration.LocalEndPoint);
        remote.SendTo("yours"u8, second.LocalEndPoint);
        await LoopbackSession.WaitUntilAsync(() => receiver.Count >= 1 && other.Count >= 1, LoopbackSession.StepTimeout, "both datagrams");
        await Task.Delay(100);
        Assert.Equal(["mine"], receiver.Texts);
        Assert.Equal(["yours"], other.Texts);

        registration.Remove();
        registration.Remove();
        Assert.True(registration.IsRemoved);
        Assert.False(port.Send(registration, "gone"u8));
        remote.SendTo("after"u8, registration.LocalEndPoint);
        remote.SendTo("still"u8, second.LocalEndPoint);
        await LoopbackSession.WaitUntilAsync(() => other.Count >= 2, LoopbackSession.StepTimeout, "the other's datagram");
        await Task.Delay(100);
        Assert.Equal(["mine"], receiver.Texts);
        Assert.Equal(1, port.Count);

        using var batch = new ClientSendBatch();
        Assert.False(batch.TryQueue(registration, "gone"u8));
        Assert.False(batch.TryQueue(second, new byte[LinuxUdpBatch.SlotBytes + 1]));
        Assert.Equal(0, batch.Pending);

        port.Dispose();
        Assert.False(port.IsActive);
        Assert.False(port.IsAlive);
        Assert.True(second.IsRemoved);
        Assert.Null(port.TryAdd((IPEndPoint)remote.LocalEndPoint!, receiver));
        using var loopbackOnly = new ClientUdpPort("loopback-only");
        Assert.Null(loopbackOnly.TryAdd(new IPEndPoint(IPAddress.IPv6Loopback, 9), receiver));
        Assert.Null(loopbackOnly.TryAdd(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 9), receiver));
        Assert.NotNull(loopbackOnly.TryAdd(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 9), receiver));
    }

    [Theory(Timeout = 30000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OnASharedPortConsentChecksComeFromThePortsThreadAndTheTransportsTimerStopsAtTheConnection(bool shared)
    {
        using var port = new ClientUdpPort("test-port");
        var clock = new TimerCountingClock();
        using LoopbackSession session = await LoopbackSession.ConnectAsync(
            IceTransportProtocol.Udp, await LoopbackSession.StartSocketsAsync(), sharedPort: shared ? port : null, clientTime: clock);
        Assert.Equal(shared, session.Client.OnSharedPort);
        long connectedAt = session.Server.LastConsentTimestamp;
        int armed = clock.Armed;
        int checks = session.Client.IceChecksSent;

        // RFC 7675 §5.1: a consent check every ~2.5 s (±20 %) once connected, either way; the server sees it.
        await LoopbackSession.WaitUntilAsync(() => session.Server.LastConsentTimestamp > connectedAt, TimeSpan.FromSeconds(6), "a consent check");
        Assert.True(session.Client.IceChecksSent > checks);
        Assert.Equal(WebRtcTransportState.Connected, session.Client.State);

        // On its own socket the transport re-arms its timer for each check (just after sending it); on the port, never
        // after the connection.
        if (shared)
        {
            Assert.Equal(armed, clock.Armed);
        }
        else
        {
            await LoopbackSession.WaitUntilAsync(() => clock.Armed > armed, TimeSpan.FromSeconds(2), "the timer re-armed after the check");
        }

        Assert.True(port.Ticks > 0, "the port ticks whether or not anyone is on it");
    }

    [Fact(Timeout = 30000)]
    public async Task ThePortCallsItsTickReceiversAFewTimesASecondAndGoesOnPastOneThatThrows()
    {
        using var port = new ClientUdpPort("test-port");
        using var remote = Bound();
        var failing = new TickReceiver(fail: true);
        var counting = new TickReceiver(fail: false);
        var plain = port.TryAdd((IPEndPoint)remote.LocalEndPoint!, new Receiver())!;
        var failingRegistration = port.TryAdd((IPEndPoint)remote.LocalEndPoint!, failing)!;
        port.TryAdd((IPEndPoint)remote.LocalEndPoint!, counting);

        await LoopbackSession.WaitUntilAsync(() => Volatile.Read(ref counting.Ticks) >= 3, TimeSpan.FromSeconds(5), "three ticks");
        Assert.True(Volatile.Read(ref failing.Ticks) >= 2, "a receiver that threw is still called");
        Assert.True(port.IsAlive);

        // A removed receiver is called no more.
        failingRegistration.Remove();
        long after = port.Ticks;
        int failingTicks = Volatile.Read(ref failing.Ticks);
        await LoopbackSession.WaitUntilAsync(() => port.Ticks >= after + 2, TimeSpan.FromSeconds(5), "two more ticks");
        Assert.True(Volatile.Read(ref failing.Ticks) <= failingTicks + 1, "at most a round already under way");
        Assert.False(plain.IsRemoved);
    }

    [Fact]
    public void ABatchSendsWhatItGatheredInOrderFromEachAddressInOneCallPerThirtyTwo()
    {
        using var port = new ClientUdpPort("test-port");
        using var remote = Bound();
        remote.ReceiveBufferSize = 1 << 20;
        var registrations = Enumerable.Range(0, 3).Select(_ => port.TryAdd((IPEndPoint)remote.LocalEndPoint!, new Receiver())!).ToArray();
        using var batch = new ClientSendBatch();
        for (int i = 0; i < 100; i++)
        {
            Assert.True(batch.TryQueue(registrations[i % 3], BitConverter.GetBytes(i)));
        }

        // A full batch went out by itself (three times 32); four wait for the flush.
        Assert.Equal(4, batch.Pending);
        Assert.Equal(3, batch.Calls);
        Assert.Equal(4, batch.Flush());
        Assert.Equal(4, batch.Calls);
        Assert.Equal(100, batch.Sent);
        Assert.Equal(0, batch.Failed);
        Assert.Equal(0, batch.Flush());
        for (int i = 0; i < 100; i++)
        {
            var (data, from) = Receive(remote);
            Assert.Equal(i, BitConverter.ToInt32(data));
            Assert.Equal(registrations[i % 3].LocalEndPoint, from);
        }

        // A datagram for another port sends what was gathered for the first one first.
        using var otherPort = new ClientUdpPort("test-port-2");
        var onOther = otherPort.TryAdd((IPEndPoint)remote.LocalEndPoint!, new Receiver())!;
        Assert.True(batch.TryQueue(registrations[0], "first"u8));
        Assert.True(batch.TryQueue(onOther, "second"u8));
        Assert.Equal(1, batch.Pending);
        batch.Flush();
        var (first, firstFrom) = Receive(remote);
        var (second, secondFrom) = Receive(remote);
        Assert.Equal("first"u8.ToArray(), first);
        Assert.Equal(registrations[0].LocalEndPoint, firstFrom);
        Assert.Equal("second"u8.ToArray(), second);
        Assert.Equal(onOther.LocalEndPoint, secondFrom);
    }

    [Fact]
    public void TheDestinationIsReadFromThePacketInformationAndNothingElse()
    {
        byte[] control = new byte[64];
        Assert.False(ClientUdpPort.TryReadDestination([], out _));
        Assert.False(ClientUdpPort.TryReadDestination(control.AsSpan(0, 15), out _));
        Assert.False(ClientUdpPort.TryReadDestination(control, out _)); // a length of 0

        // Another message first (SOL_SOCKET, SO_TIMESTAMP: 16 bytes of data), then IP_PKTINFO naming 127.1.2.3.
        BinaryPrimitives.WriteUInt64LittleEndian(control, 16 + 16);
        BinaryPrimitives.WriteInt32LittleEndian(control.AsSpan(8), 1);
        BinaryPrimitives.WriteInt32LittleEndian(control.AsSpan(12), 29);
        BinaryPrimitives.WriteUInt64LittleEndian(control.AsSpan(32), 16 + 12);
        BinaryPrimitives.WriteInt32LittleEndian(control.AsSpan(40), 0);
        BinaryPrimitives.WriteInt32LittleEndian(control.AsSpan(44), 8);
        control[56] = 127;
        control[57] = 1;
        control[58] = 2;
        control[59] = 3;
        Assert.True(ClientUdpPort.TryReadDestination(control, out uint address));
        Assert.Equal(0x7F01_0203u, address);

        // Cut short, or a length past the end or too short for the packet information: nothing.
        Assert.False(ClientUdpPort.TryReadDestination(control.AsSpan(0, 40), out _));
        BinaryPrimitives.WriteUInt64LittleEndian(control.AsSpan(32), 1000);
        Assert.False(ClientUdpPort.TryReadDestination(control, out _));
        BinaryPrimitives.WriteUInt64LittleEndian(control.AsSpan(32), 16 + 4);
        Assert.False(ClientUdpPort.TryReadDestination(control, out _));
        BinaryPrimitives.WriteUInt64LittleEndian(control, ulong.MaxValue);
        Assert.False(ClientUdpPort.TryReadDestination(control, out _));
    }

    private static uint Ssrc(int client) => 0x6000_0000u + (uint)client;

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static (byte[] Data, IPEndPoint From) Receive(Socket socket)
    {
        byte[] buffer = new byte[4096];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int length = socket.ReceiveFrom(buffer, ref from);
        return (buffer[..length], (IPEndPoint)from);
    }

    private sealed class TickReceiver(bool fail) : IPortTickReceiver
    {
        public int Ticks;

        public void OnDatagram(Span<byte> datagram)
        {
        }

        public void OnPortTick()
        {
            Interlocked.Increment(ref Ticks);
            if (fail)
            {
                throw new InvalidOperationException("a receiver that fails");
            }
        }
    }

    /// <summary>The system's clock, counting the times a timer is armed (changed to a finite due time).</summary>
    private sealed class TimerCountingClock : TimeProvider
    {
        private int _armed;

        public int Armed => Volatile.Read(ref _armed);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Count(dueTime);
            return new CountingTimer(this, TimeProvider.System.CreateTimer(callback, state, dueTime, period));
        }

        private void Count(TimeSpan dueTime)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                Interlocked.Increment(ref _armed);
            }
        }

        private sealed class CountingTimer(TimerCountingClock clock, ITimer inner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                clock.Count(dueTime);
                return inner.Change(dueTime, period);
            }

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    private sealed class Receiver : IDatagramReceiver
    {
        private readonly List<string> _texts = [];

        public int Count
        {
            get
            {
                lock (_texts)
                {
                    return _texts.Count;
                }
            }
        }

        public string[] Texts
        {
            get
            {
                lock (_texts)
                {
                    return [.. _texts];
                }
            }
        }

        public void OnDatagram(Span<byte> datagram)
        {
            lock (_texts)
            {
                _texts.Add(System.Text.Encoding.ASCII.GetString(datagram));
            }
        }
    }
}
