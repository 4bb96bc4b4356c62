using System.Net;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

public sealed class RemoteKeyTests
{
    [Theory]
    [InlineData("192.0.2.1", 5000, 4)]
    [InlineData("127.0.0.1", 65535, 4)]
    [InlineData("2001:db8::5", 6000, 16)]
    [InlineData("fe80::1:2:3:4", 1, 16)]
    public void SocketAddressAndEndPointAgreeAndRoundTrip(string address, int port, int addressLength)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);
        RemoteKey fromEndPoint = RemoteKey.FromEndPoint(endPoint);
        RemoteKey fromSocketAddress = RemoteKey.FromSocketAddress(endPoint.Serialize());

        Assert.Equal(fromEndPoint, fromSocketAddress);
        Assert.Equal(fromEndPoint.GetHashCode(), fromSocketAddress.GetHashCode());
        Assert.Equal(endPoint, fromSocketAddress.ToEndPoint());
        Assert.Equal(port, fromSocketAddress.Port);
        Assert.False(fromSocketAddress.IsTcp);

        Span<byte> written = stackalloc byte[16];
        Assert.Equal(addressLength, fromSocketAddress.WriteAddress(written));
        Assert.True(written[..addressLength].SequenceEqual(endPoint.Address.GetAddressBytes()));
    }

    [Fact]
    public void AnIpv4MappedIpv6RemoteIsTheSameAsItsIpv4Address()
    {
        var v4 = new IPEndPoint(IPAddress.Parse("198.51.100.9"), 40000);
        var mapped = new IPEndPoint(IPAddress.Parse("::ffff:198.51.100.9"), 40000);

        Assert.Equal(RemoteKey.FromEndPoint(v4), RemoteKey.FromEndPoint(mapped));
        Assert.Equal(RemoteKey.FromEndPoint(v4), RemoteKey.FromSocketAddress(mapped.Serialize()));
        Assert.Equal(v4, RemoteKey.FromSocketAddress(mapped.Serialize()).ToEndPoint());
    }

    [Fact]
    public void PortAddressAndTcpConnectionAllDistinguishKeys()
    {
        var endPoint = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 5000);
        RemoteKey udp = RemoteKey.FromEndPoint(endPoint);

        Assert.NotEqual(udp, RemoteKey.FromEndPoint(new IPEndPoint(endPoint.Address, 5001)));
        Assert.NotEqual(udp, RemoteKey.FromEndPoint(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 5000)));

        RemoteKey tcp1 = RemoteKey.ForTcpConnection(1, endPoint);
        RemoteKey tcp2 = RemoteKey.ForTcpConnection(2, endPoint);
        Assert.True(tcp1.IsTcp);
        Assert.NotEqual(udp, tcp1);
        Assert.NotEqual(tcp1, tcp2);
        Assert.Equal(tcp1, RemoteKey.ForTcpConnection(1, endPoint));
        Assert.Equal(endPoint, tcp1.ToEndPoint());
        Assert.True(udp != tcp1);
    }
}
