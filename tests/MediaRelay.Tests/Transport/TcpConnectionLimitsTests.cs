using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Teletherapy.MediaRelay.Tests.Ice;
using Teletherapy.MediaRelay.Transport;
using Xunit.Abstractions;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>
/// The ICE-TCP listener's limits over real loopback sockets: the connection caps, the idle timeout before the first
/// valid STUN check, and the frame size a stranger may send. Clients bind to other loopback addresses (127.0.0.2, …)
/// to act as different remotes.
/// </summary>
public sealed class TcpConnectionLimitsTests
{
    private static readonly TimeSpan StepTimeout = LoopbackSession.StepTimeout;

    [Fact(Timeout = 30000)]
    public async Task Connections_beyond_the_per_address_and_the_total_cap_are_closed_at_once_and_counted()
    {
        using var sockets = await LoopbackSession.StartSocketsAsync(o =>
        {
            o.MaxTcpConnections = 5;
            o.MaxTcpConnectionsPerAddress = 2;
        });
        var addressRefusals = RelayMetrics.TcpRefusedAddressLimit.Value;
        var totalRefusals = RelayMetrics.TcpRefusedConnectionLimit.Value;
        var clients = new List<Socket>();
        try
        {
            // Two from 127.0.0.1 are taken; the third from the same address is refused.
            clients.Add(await ConnectAsync(sockets, "127.0.0.1"));
            clients.Add(await ConnectAsync(sockets, "127.0.0.1"));
            await WaitForConnectionsAsync(sockets, 2);
            await AssertRefusedAsync(sockets, "127.0.0.1");

            Assert.True(RelayMetrics.TcpRefusedAddressLimit.Value >= addressRefusals + 1);

            // Other addresses fill the total of five; the sixth is refused although its own address has room.
            clients.Add(await ConnectAsync(sockets, "127.0.0.2"));
            clients.Add(await ConnectAsync(sockets, "127.0.0.2"));
            clients.Add(await ConnectAsync(sockets, "127.0.0.3"));
            await WaitForConnectionsAsync(sockets, 5);
            await AssertRefusedAsync(sockets, "127.0.0.4");

            Assert.True(RelayMetrics.TcpRefusedConnectionLimit.Value >= totalRefusals + 1);
            Assert.Equal(5, sockets.TcpConnectionCount);

            // The accepted ones are still open: nothing arrives and nothing closed them.
            foreach (var client in clients)
            {
                Assert.False(client.Poll(0, SelectMode.SelectRead), "an accepted connection stays open");
            }

            // A connection that goes frees its place, for its address and in the total.
            clients[0].Dispose();
            clients.RemoveAt(0);
            await WaitForConnectionsAsync(sockets, 4);
            clients.Add(await ConnectAsync(sockets, "127.0.0.1"));
            await WaitForConnectionsAsync(sockets, 5);
            Assert.False(clients[^1].Poll(200_000, SelectMode.SelectRead), "the freed place is taken again");
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact(Timeout = 30000)]
    public async Task A_connection_that_never_sends_a_valid_stun_check_is_closed_after_the_idle_timeout()
    {
        var time = new FakeTimeProvider();
        using var sockets = await LoopbackSession.StartSocketsAsync(o => o.TcpIdleTimeoutSeconds = 10, time);
        var idleClosed = RelayMetrics.TcpClosedIdle.Value;
        using var silent = await ConnectAsync(sockets, "127.0.0.1");
        using var talker = await ConnectAsync(sockets, "127.0.0.1");
        await WaitForConnectionsAsync(sockets, 2);

        // A STUN check that names no transport of ours is no valid check: it does not keep the connection.
        var framed = new byte[512];
        var length = Rfc4571Framer.Frame(IceTestMessages.Check("nobody00:remote", "password-of-nobody-0000"), framed);
        await talker.SendAsync(framed.AsMemory(0, length));

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(silent.Poll(100_000, SelectMode.SelectRead), "still open before the timeout");
        Assert.Equal(2, sockets.TcpConnectionCount);

        time.Advance(TimeSpan.FromSeconds(1.5));
        await AssertClosedByServerAsync(silent);
        await AssertClosedByServerAsync(talker);
        await WaitForConnectionsAsync(sockets, 0);
        Assert.True(RelayMetrics.TcpClosedIdle.Value >= idleClosed + 2);
    }

    [Fact(Timeout = 30000)]
    public async Task A_connection_whose_first_check_is_valid_outlives_the_idle_timeout_and_carries_media()
    {
        var time = new FakeTimeProvider();
        var sockets = await LoopbackSession.StartSocketsAsync(o => o.TcpIdleTimeoutSeconds = 10, time);
        using var session = await LoopbackSession.ConnectAsync(IceTransportProtocol.Tcp, sockets);
        var connection = Assert.Single(sockets.TcpConnections);
        Assert.True(connection.IsAuthenticated);

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, sockets.TcpConnectionCount);
        var buffer = new byte[256];
        var rtp = new MediaRelay.Rtp.RtpHeaderWriter(buffer, 96, 7, 1, 0x1234, marker: false).Complete() + 100;
        Assert.True(session.Server.SendRtp(buffer, rtp));
        await LoopbackSession.WaitUntilAsync(() => !session.ClientListener.Rtp.IsEmpty, StepTimeout, "media after the idle timeout");
    }

    [Fact(Timeout = 30000)]
    public async Task A_stranger_cannot_make_the_relay_hold_a_large_frame_before_its_first_valid_check()
    {
        using var sockets = await LoopbackSession.StartSocketsAsync();
        using var stranger = await ConnectAsync(sockets, "127.0.0.1");
        await WaitForConnectionsAsync(sockets, 1);

        // RFC 4571 allows 65535 bytes, but before ICE only a STUN check can be valid, and that is small.
        var header = new byte[] { 0xFF, 0xF0 };
        await stranger.SendAsync(header);
        await stranger.SendAsync(new byte[1000]);
        await AssertClosedByServerAsync(stranger);
        await WaitForConnectionsAsync(sockets, 0);
    }

    internal static async Task<Socket> ConnectAsync(MediaSockets sockets, string from)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, sockets.TcpPort)).WaitAsync(StepTimeout);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A connect the server refuses: reset so fast that the connect itself may see it, or closed right after.</summary>
    internal static async Task AssertRefusedAsync(MediaSockets sockets, string from)
    {
        Socket socket;
        try
        {
            socket = await ConnectAsync(sockets, from);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
        {
            return;
        }

        using (socket)
        {
            await AssertClosedByServerAsync(socket);
        }
    }

    internal static Task WaitForConnectionsAsync(MediaSockets sockets, int count) =>
        LoopbackSession.WaitUntilAsync(() => sockets.TcpConnectionCount == count, StepTimeout, $"{count} open ICE-TCP connections (have {sockets.TcpConnectionCount})");

    /// <summary>The server closed the connection: a read ends (0 bytes) or fails with a reset, within the step timeout.</summary>
    internal static async Task AssertClosedByServerAsync(Socket socket)
    {
        var buffer = new byte[64];
        try
        {
            using var timeout = new CancellationTokenSource(StepTimeout);
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (read == 0)
                {
                    return;
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("The server did not close the connection.");
        }
    }
}

/// <summary>Measures what the whole process allocates, so it runs alone (no other test allocating meanwhile).</summary>
[CollectionDefinition(nameof(ProcessAllocationCollection), DisableParallelization = true)]
public sealed class ProcessAllocationCollection;

[Collection(nameof(ProcessAllocationCollection))]
public sealed class TcpIdleConnectionMemoryTests(ITestOutputHelper output)
{
    /// <summary>
    /// 1,000 idle connections: the relay holds no buffer for any of them, and the whole process (our client sockets
    /// included) allocates a few KiB per connection, not the 147 KiB of buffers each used to cost.
    /// </summary>
    [Fact(Timeout = 60000)]
    public async Task A_thousand_idle_connections_hold_no_buffers_and_cost_a_few_KiB_each()
    {
        const int Connections = 1000;
        using var sockets = await LoopbackSession.StartSocketsAsync(o =>
        {
            o.MaxTcpConnections = Connections;
            o.MaxTcpConnectionsPerAddress = Connections;
        });
        var clients = new List<Socket>(Connections);
        try
        {
            // Warm up the accept path and the socket machinery, so one-time costs are not counted per connection.
            clients.Add(await TcpConnectionLimitsTests.ConnectAsync(sockets, "127.0.0.1"));
            await TcpConnectionLimitsTests.WaitForConnectionsAsync(sockets, 1);
            GC.Collect();
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 1; i < Connections; i++)
            {
                clients.Add(await TcpConnectionLimitsTests.ConnectAsync(sockets, "127.0.0.1"));
            }

            await TcpConnectionLimitsTests.WaitForConnectionsAsync(sockets, Connections);
            var perConnection = (GC.GetTotalAllocatedBytes(precise: true) - before) / (Connections - 1);

            Assert.All(sockets.TcpConnections, c => Assert.Equal(0, c.BufferBytes));
            output.WriteLine($"{perConnection} bytes allocated per idle connection (client and server side)");
            Assert.True(perConnection < 16 * 1024, $"{perConnection} bytes allocated per idle connection");
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
