using System.Net;
using System.Net.Sockets;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>Several receive threads on one media port (<see cref="MediaOptions.UdpReceiveThreads"/>).</summary>
public sealed class UdpReceiveThreadsTests
{
    [Theory(Timeout = 30000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Two_threads_share_the_port_and_the_kernel_spreads_remotes_over_both(bool batchedUdp)
    {
        using var sockets = await LoopbackSession.StartSocketsAsync(o =>
        {
            o.UdpReceiveThreads = 2;
            o.BatchedUdp = batchedUdp;
        });
        Assert.Equal(2, sockets.UdpReceiveThreads);
        var port = new IPEndPoint(IPAddress.Loopback, sockets.UdpPort);
        var packetsBefore = RelayMetrics.PacketsReceived.Value;
        var bytesBefore = RelayMetrics.BytesReceived.Value;

        // 64 remotes: the kernel hashes each one's address and port to one socket; all on one would be a 2^-63 chance.
        var remotes = Enumerable.Range(0, 64).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)).ToList();
        try
        {
            foreach (var remote in remotes)
            {
                remote.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                for (var i = 0; i < 3; i++)
                {
                    remote.SendTo(new byte[] { 0x80, 0x60, 0, (byte)i, 0, 0, 0, 0, 0, 0, 0, 1 }, port);
                }
            }

            await LoopbackSession.WaitUntilAsync(
                () => sockets.UdpDatagramsReceived(0) + sockets.UdpDatagramsReceived(1) == 64 * 3, TimeSpan.FromSeconds(10), "every datagram read");
            Assert.True(sockets.UdpDatagramsReceived(0) > 0, "the first thread read nothing");
            Assert.True(sockets.UdpDatagramsReceived(1) > 0, "the second thread read nothing");

            // Counted once a batch or once a datagram, every one is counted (other tests may add theirs meanwhile).
            await LoopbackSession.WaitUntilAsync(
                () => RelayMetrics.PacketsReceived.Value - packetsBefore >= 64 * 3, TimeSpan.FromSeconds(10), "every datagram counted");
            Assert.True(RelayMetrics.BytesReceived.Value - bytesBefore >= 64 * 3 * 12, "every byte counted");
        }
        finally
        {
            remotes.ForEach(remote => remote.Dispose());
        }
    }

    [Fact(Timeout = 30000)]
    public async Task One_thread_is_the_default_and_a_second_relay_cannot_take_a_port_in_use()
    {
        using var first = await LoopbackSession.StartSocketsAsync(o => o.UdpReceiveThreads = 2);
        using (var other = await LoopbackSession.StartSocketsAsync())
        {
            Assert.Equal(1, other.UdpReceiveThreads);
        }

        // SO_REUSEPORT joins sockets that all asked for it: a relay without it is refused the port as before.
        var port = first.UdpPort;
        await Assert.ThrowsAsync<SocketException>(() => LoopbackSession.StartSocketsAsync(o => o.UdpPort = port));
    }

    [Fact(Timeout = 30000)]
    public async Task Every_receive_socket_sends_with_dont_fragment_whatever_path_mtu_was_learned()
    {
        // IP_PMTUDISC_PROBE: DF on every datagram, so the kernel stamps IP ID 0 instead of drawing one per send from a
        // table the whole host shares. The relay's loopback sessions (RouterLoopbackTests and the rest) send through it.
        Assert.True(OperatingSystem.IsLinux(), "the relay's media path is measured on Linux");
        using var sockets = await LoopbackSession.StartSocketsAsync(o => o.UdpReceiveThreads = 2);
        for (var i = 0; i < sockets.UdpReceiveThreads; i++)
        {
            Assert.Equal(LinuxSocketCalls.IpPmtuDiscProbe, MtuDiscovery(sockets.UdpSocket(i)));
        }

        // A socket left as the kernel makes it wants discovery (IP_PMTUDISC_WANT, 1): the setting above is the relay's.
        using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.NotEqual(LinuxSocketCalls.IpPmtuDiscProbe, MtuDiscovery(plain));
    }

    private static int MtuDiscovery(Socket socket)
    {
        var value = new byte[4];
        socket.GetRawSocketOption(0, LinuxSocketCalls.IpMtuDiscover, value);
        return BitConverter.ToInt32(value);
    }
}
