using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>
/// The send side of one ICE-TCP connection on a real loopback socket pair: sends return at once whatever the peer
/// does, frames arrive whole and in order, a full queue drops and counts, a queue that stays full closes the
/// connection, and the caller's thread allocates nothing per packet.
/// </summary>
public sealed class TcpSendQueueTests
{
    private const int QueueBytes = 64 * 1024;

    [Fact(Timeout = 30000)]
    public async Task Sends_to_a_peer_that_stops_reading_return_at_once_and_drop_when_the_queue_is_full()
    {
        var time = new FakeTimeProvider();
        using var pair = await SocketPair.CreateAsync();
        using var connection = new TcpConnection(pair.Server, 1, time, QueueBytes, TimeSpan.FromSeconds(5));
        var packet = new byte[1200];
        var dropsBefore = RelayMetrics.DroppedTcpQueueFull.Value;

        // The peer never reads: the kernel's buffers fill, then our queue, then packets are dropped, and no call waits.
        var slowest = TimeSpan.Zero;
        var dropped = 0;
        for (var i = 0; i < 5000; i++)
        {
            var started = Stopwatch.GetTimestamp();
            dropped += connection.Send(packet) ? 0 : 1;
            var took = Stopwatch.GetElapsedTime(started);
            slowest = took > slowest ? took : slowest;
        }

        Assert.True(dropped > 0, "the queue filled up");
        Assert.True(slowest < TimeSpan.FromMilliseconds(50), $"the slowest send took {slowest.TotalMilliseconds} ms");
        Assert.InRange(connection.QueuedBytes, QueueBytes - packet.Length - 2, QueueBytes);
        Assert.True(connection.BufferBytes <= QueueBytes);
        Assert.True(RelayMetrics.DroppedTcpQueueFull.Value >= dropsBefore + dropped);
        Assert.True(connection.IsOpen, "full, but not yet for the stall timeout");
    }

    [Fact(Timeout = 30000)]
    public async Task A_queue_that_stays_full_for_the_stall_timeout_closes_the_connection()
    {
        var time = new FakeTimeProvider();
        using var pair = await SocketPair.CreateAsync();
        using var connection = new TcpConnection(pair.Server, 1, time, QueueBytes, TimeSpan.FromSeconds(5));
        var stalledBefore = RelayMetrics.TcpClosedStalled.Value;
        var packet = new byte[1200];
        while (connection.Send(packet))
        {
        }

        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(connection.Send(packet));
        Assert.True(connection.IsOpen);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(connection.Send(packet));
        Assert.False(connection.IsOpen);
        Assert.True(RelayMetrics.TcpClosedStalled.Value >= stalledBefore + 1);
        await TcpConnectionLimitsTests.AssertClosedByServerAsync(pair.Client);
    }

    [Fact(Timeout = 30000)]
    public async Task A_slow_reader_gets_every_frame_whole_and_in_order()
    {
        using var pair = await SocketPair.CreateAsync();
        using var connection = new TcpConnection(pair.Server, 1, TimeProvider.System, 16 * 1024 * 1024, TimeSpan.FromSeconds(30));
        var random = new Random(5);
        var sent = new List<byte[]>();
        for (var i = 0; i < 3000; i++)
        {
            var packet = new byte[1 + random.Next(1400)];
            random.NextBytes(packet);
            Assert.True(connection.Send(packet));
            sent.Add(packet);
        }

        // 2 MB, more than the kernel's buffers hold: the reader starts late, so most frames went through the queue and
        // the writer, and it reads in small pieces.
        Assert.True(connection.QueuedBytes > 0, "the writer has work");
        var received = new List<byte[]>();
        var framer = new Rfc4571Framer();
        var buffer = new byte[1000];
        while (received.Count < sent.Count)
        {
            var read = await pair.Client.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(LoopbackSession.StepTimeout);

            Assert.NotEqual(0, read);
            Assert.True(framer.Append(buffer.AsSpan(0, read), received, static (list, frame) => list.Add(frame.ToArray())));
        }

        Assert.Equal(sent, received);
        Assert.Equal(0, connection.QueuedBytes);
    }

    [Fact(Timeout = 30000)]
    public async Task Sending_to_a_reading_peer_allocates_nothing_on_the_callers_thread()
    {
        using var pair = await SocketPair.CreateAsync();
        using var connection = new TcpConnection(pair.Server, 1, TimeProvider.System, 256 * 1024, TimeSpan.FromSeconds(30));
        using var reading = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            long total = 0;
            try
            {
                while (true)
                {
                    var read = await pair.Client.ReceiveAsync(buffer, SocketFlags.None, reading.Token);
                    if (read == 0)
                    {
                        return total;
                    }

                    total += read;
                }
            }
            catch (OperationCanceledException)
            {
                return total;
            }
        });

        var packet = new byte[1200];
        for (var i = 0; i < 2000; i++)
        {
            connection.Send(packet); // warm up: the queue reaches its working size, the writer exists
        }

        await LoopbackSession.WaitUntilAsync(() => connection.QueuedBytes == 0, LoopbackSession.StepTimeout, "the warm-up drained");
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 2000; i++)
        {
            connection.Send(packet);
            if (i % 100 == 0)
            {
                Thread.Sleep(1); // a real rate, so the socket keeps up most of the time
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        await LoopbackSession.WaitUntilAsync(() => connection.QueuedBytes == 0, LoopbackSession.StepTimeout, "everything written");
        await reading.CancelAsync();
        await reader;
    }

    /// <summary>A connected pair of TCP sockets on loopback: <see cref="Server"/> as the relay accepted it.</summary>
    private sealed class SocketPair : IDisposable
    {
        private SocketPair(Socket client, Socket server)
        {
            Client = client;
            Server = server;
        }

        public Socket Client { get; }

        public Socket Server { get; }

        public static async Task<SocketPair> CreateAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var accept = listener.AcceptAsync();
            await client.ConnectAsync(listener.LocalEndPoint!);
            return new SocketPair(client, await accept);
        }

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }
}
