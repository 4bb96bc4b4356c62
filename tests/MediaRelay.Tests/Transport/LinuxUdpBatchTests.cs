using System.Net;
using System.Net.Sockets;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>The batched datagram calls on real loopback sockets: what is read, what is cut, what is sent, and to whom.</summary>
public sealed class LinuxUdpBatchTests
{
    [Fact]
    public void One_read_takes_every_waiting_datagram_with_its_sender_and_a_cut_one_is_flagged()
    {
        Assert.True(LinuxUdpBatch.IsSupported, "the relay runs on 64-bit Linux, where it reads in batches");
        using var server = Bound();
        using var first = Bound();
        using var second = Bound();
        var sent = new List<(int Port, byte[] Payload)>();
        for (var i = 0; i < 40; i++)
        {
            var from = i % 3 == 0 ? second : first;
            var payload = Enumerable.Range(0, 20 + (i * 30)).Select(b => (byte)(b + i)).ToArray();
            from.SendTo(payload, server.LocalEndPoint!);
            sent.Add((((IPEndPoint)from.LocalEndPoint!).Port, payload));
        }

        server.SendTo(new byte[LinuxUdpBatch.SlotBytes + 1], server.LocalEndPoint!); // too long for a slot
        using var batch = new LinuxUdpBatch(server);
        var received = new List<(int Port, byte[] Payload)>();
        var reads = 0;
        var cut = 0;
        while (received.Count + cut < 41)
        {
            var count = batch.Receive(waitMilliseconds: 1000);
            Assert.True(count > 0, "every datagram was sent before the first read");
            Assert.InRange(count, 1, LinuxUdpBatch.Capacity);
            reads++;
            for (var i = 0; i < count; i++)
            {
                if (!batch.TryGet(i, out var packet, out var source))
                {
                    cut++;
                    continue;
                }

                received.Add((RemoteKey.FromSocketAddress(source).Port, packet.ToArray()));
            }
        }

        Assert.Equal(2, reads); // 32 + 9: the first read is full, the second takes the rest
        Assert.Equal(1, cut);
        Assert.Equal(sent.Select(s => s.Port), received.Select(r => r.Port));
        Assert.All(sent.Zip(received), pair => Assert.Equal(pair.First.Payload, pair.Second.Payload));
    }

    [Fact]
    public void Sends_queue_only_on_the_thread_handling_a_batch_and_leave_in_order_to_each_destination()
    {
        Assert.True(LinuxUdpBatch.IsSupported, "the relay runs on 64-bit Linux, where it sends in batches");
        using var server = Bound();
        using var other = Bound();
        using var first = Bound();
        using var second = Bound();
        using var batch = new LinuxUdpBatch(server);
        var firstAddress = first.LocalEndPoint!.Serialize();
        var secondAddress = second.LocalEndPoint!.Serialize();

        Assert.False(LinuxUdpBatch.TryQueue(server, firstAddress, [1, 2, 3])); // no batch being handled
        batch.BeginSends();
        Assert.False(LinuxUdpBatch.TryQueue(other, firstAddress, [1, 2, 3])); // another socket
        Assert.False(LinuxUdpBatch.TryQueue(server, firstAddress, new byte[LinuxUdpBatch.SlotBytes + 1]));
        var queuedElsewhere = true;
        var elsewhere = new Thread(() => queuedElsewhere = LinuxUdpBatch.TryQueue(server, firstAddress, [1, 2, 3]));
        elsewhere.Start();
        elsewhere.Join();
        Assert.False(queuedElsewhere); // another thread sends at once

        // More than one call's worth: the queue sends itself when full and the rest at the flush.
        for (var i = 0; i < 50; i++)
        {
            Assert.True(LinuxUdpBatch.TryQueue(server, i % 2 == 0 ? firstAddress : secondAddress, Enumerable.Repeat((byte)i, 100 + i).ToArray()));
        }

        first.ReceiveTimeout = 2000;
        second.ReceiveTimeout = 2000;
        Assert.Equal(LinuxUdpBatch.Capacity / 2, Drain(first).Count); // the full queue left before the flush
        batch.FlushSends();
        Assert.False(LinuxUdpBatch.TryQueue(server, firstAddress, [1, 2, 3]));

        var atFirst = Drain(first);
        var atSecond = Drain(second);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (2 * i) + 1).Select(i => (byte)i), atSecond.Select(p => p[0]));
        Assert.Equal(Enumerable.Range(LinuxUdpBatch.Capacity / 2, 25 - (LinuxUdpBatch.Capacity / 2)).Select(i => (byte)(2 * i)), atFirst.Select(p => p[0]));
        Assert.All(atSecond, p => Assert.Equal(100 + p[0], p.Length));
    }

    [Fact]
    public void A_send_for_a_socket_sharing_the_port_joins_the_batch_and_leaves_from_that_port()
    {
        Assert.True(LinuxUdpBatch.IsSupported, "the relay runs on 64-bit Linux, where it sends in batches");
        using var server = ReusePort(0);
        var port = ((IPEndPoint)server.LocalEndPoint!).Port;
        using var sibling = ReusePort(port);
        using var stranger = Bound();
        using var peer = Bound();
        using var batch = new LinuxUdpBatch(server, [server, sibling]);
        var peerAddress = peer.LocalEndPoint!.Serialize();

        batch.BeginSends();
        Assert.True(LinuxUdpBatch.TryQueue(sibling, peerAddress, [7, 7, 7]));
        Assert.False(LinuxUdpBatch.TryQueue(stranger, peerAddress, [8])); // not of this port
        batch.FlushSends();

        var buffer = new byte[16];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        peer.ReceiveTimeout = 2000;
        Assert.Equal(3, peer.ReceiveFrom(buffer, ref from));
        Assert.Equal(port, ((IPEndPoint)from).Port);
    }

    /// <summary>
    /// The receive thread stops only when the socket is closed: an empty wait is 0, whatever the runtime did to the
    /// socket's blocking mode (a receive thread that took an odd error for "closed" once left the relay deaf).
    /// </summary>
    [Fact]
    public void An_empty_wait_reads_nothing_and_only_a_closed_socket_ends_the_loop()
    {
        var server = Bound();
        using var batch = new LinuxUdpBatch(server);
        Assert.Equal(0, batch.Receive(waitMilliseconds: 50));
        server.Blocking = false;
        Assert.Equal(0, batch.Receive(waitMilliseconds: 50));
        server.Blocking = true;
        server.ReceiveTimeout = 10;
        Assert.Equal(0, batch.Receive(waitMilliseconds: 50));
        server.Dispose();
        Assert.Equal(-1, batch.Receive(waitMilliseconds: 50));
    }

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static Socket ReusePort(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        LinuxSocketCalls.EnableReusePort(socket);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    /// <summary>What is waiting at the socket now (a short wait for the last to land).</summary>
    internal static List<byte[]> Drain(Socket socket)
    {
        var packets = new List<byte[]>();
        var buffer = new byte[4096];
        while (socket.Poll(200_000, SelectMode.SelectRead))
        {
            var length = socket.Receive(buffer);
            packets.Add(buffer[..length]);
        }

        return packets;
    }
}
