using System.Net;
using System.Net.Sockets;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>
/// Sends from a thread that is not a receive thread (housekeeping's reports) gathered into sendmmsg calls by
/// <see cref="MediaSockets.SendTogether"/>, on the relay's real bound sockets over loopback.
/// </summary>
public sealed class SendTogetherTests
{
    [Fact]
    public async Task WhatARunSendsLeavesInOrderToEachPeerInOneCallPerThirtyTwoAndNothingIsHeldBack()
    {
        using var sockets = await LoopbackSession.StartSocketsAsync();
        using var first = Bound();
        using var second = Bound();
        var paths = new[] { new UdpPacketPath(sockets.Udp!, (IPEndPoint)first.LocalEndPoint!), new UdpPacketPath(sockets.Udp!, (IPEndPoint)second.LocalEndPoint!) };

        sockets.SendTogether(paths, static p =>
        {
            for (var i = 0; i < 70; i++)
            {
                Assert.True(p[i % 2].Send(Enumerable.Repeat((byte)i, 50 + i).ToArray()));
            }
        });

        // 32 + 32 + 6, the last at the end of the run.
        Assert.Equal(3, sockets.SendTogetherCalls);
        var atFirst = Drain(first);
        var atSecond = Drain(second);
        Assert.Equal(Enumerable.Range(0, 35).Select(i => (byte)(2 * i)), atFirst.Select(p => p[0]));
        Assert.Equal(Enumerable.Range(0, 35).Select(i => (byte)((2 * i) + 1)), atSecond.Select(p => p[0]));
        Assert.All(atFirst.Concat(atSecond), p => Assert.Equal(50 + p[0], p.Length));
        Assert.False(LinuxUdpBatch.IsGathering);

        // A run inside a run (a report that closes a transport, whose close sends) gathers into the outer one.
        sockets.SendTogether(paths, static p =>
        {
            p[0].Send([1]);
            Assert.True(LinuxUdpBatch.IsGathering);
            p[0].Send([2]);
        });
        Assert.Equal(4, sockets.SendTogetherCalls);
        Assert.Equal([1, 2], Drain(first).Select(p => p[0]));

        // A run that throws still sends what it gathered, and the thread sends at once afterwards.
        Assert.Throws<InvalidOperationException>(() => sockets.SendTogether(paths, static p =>
        {
            p[1].Send([3]);
            throw new InvalidOperationException("a report that fails");
        }));
        Assert.Equal([3], Drain(second).Select(p => p[0]));
        Assert.False(LinuxUdpBatch.IsGathering);
        Assert.True(paths[1].Send([4]));
        Assert.Equal(5, sockets.SendTogetherCalls);
        Assert.Equal([4], Drain(second).Select(p => p[0]));
    }

    [Fact]
    public async Task WithoutBatchedUdpEachSendGoesOutAtOnce()
    {
        using var sockets = await LoopbackSession.StartSocketsAsync(o => o.BatchedUdp = false);
        using var peer = Bound();
        var path = new UdpPacketPath(sockets.Udp!, (IPEndPoint)peer.LocalEndPoint!);
        var arrivedDuringTheRun = 0;
        sockets.SendTogether(path, p =>
        {
            p.Send([9]);
            arrivedDuringTheRun = Drain(peer).Count;
        });

        Assert.Equal(1, arrivedDuringTheRun);
        Assert.Equal(0, sockets.SendTogetherCalls);
    }

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static List<byte[]> Drain(Socket socket) => LinuxUdpBatchTests.Drain(socket);
}
