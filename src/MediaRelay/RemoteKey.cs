using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Teletherapy.MediaRelay;

/// <summary>
/// Identifies the far end of a packet without allocating: a UDP remote address and port, or one TCP
/// connection (ICE-TCP gives each connection its own candidate pair). Used as the key of the
/// 5-tuple → transport map (the local side is always our one socket or listener).
/// </summary>
internal readonly struct RemoteKey : IEquatable<RemoteKey>
{
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly int _port;
    private readonly long _tcpConnection;

    private RemoteKey(ulong high, ulong low, int port, long tcpConnection)
    {
        _high = high;
        _low = low;
        _port = port;
        _tcpConnection = tcpConnection;
    }

    public bool IsTcp => _tcpConnection != 0;

    public int Port => _port;

    /// <summary>The remote's address range (IPv4 address or IPv6 /64), for per-address limits.</summary>
    public AddressRange AddressRange => AddressRange.FromBits(_high, _low);

    /// <summary>Writes the address (4 bytes for IPv4, 16 for IPv6) for XOR-MAPPED-ADDRESS; returns its length.</summary>
    public int WriteAddress(Span<byte> destination)
    {
        if (_high == 0 && (_low >> 32) == 0x0000_FFFF)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)_low);
            return 4;
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
        return 16;
    }

    /// <summary>Reads the address and port out of a raw socket address (IPv4 or IPv6) as filled in by <c>ReceiveFrom</c>.</summary>
    public static RemoteKey FromSocketAddress(SocketAddress address)
    {
        var bytes = address.Buffer.Span;
        var port = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        if (address.Family == AddressFamily.InterNetworkV6)
        {
            // sockaddr_in6: family(2) port(2) flowinfo(4) addr(16) scope(4)
            return new RemoteKey(
                BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
                port,
                0);
        }

        // sockaddr_in: family(2) port(2) addr(4); stored as an IPv4-mapped IPv6 address so both compare alike.
        return new RemoteKey(0, 0x0000_FFFF_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]), port, 0);
    }

    public static RemoteKey FromEndPoint(IPEndPoint endPoint)
    {
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            bytes[10] = 0xFF;
            bytes[11] = 0xFF;
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }

        return new RemoteKey(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), endPoint.Port, 0);
    }

    /// <summary>A key for one accepted TCP connection (ids start at 1 and are never reused).</summary>
    public static RemoteKey ForTcpConnection(long connectionId, IPEndPoint remote) =>
        new(FromEndPoint(remote)._high, FromEndPoint(remote)._low, remote.Port, connectionId);

    /// <summary>The remote address, e.g. for XOR-MAPPED-ADDRESS. IPv4 addresses come back as IPv4.</summary>
    public IPEndPoint ToEndPoint()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _low);
        var address = new IPAddress(bytes);
        return new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, _port);
    }

    public bool Equals(RemoteKey other) =>
        _high == other._high && _low == other._low && _port == other._port && _tcpConnection == other._tcpConnection;

    public override bool Equals(object? obj) => obj is RemoteKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, _port, _tcpConnection);

    public override string ToString() => IsTcp ? $"tcp#{_tcpConnection} {ToEndPoint()}" : $"udp {ToEndPoint()}";

    public static bool operator ==(RemoteKey left, RemoteKey right) => left.Equals(right);

    public static bool operator !=(RemoteKey left, RemoteKey right) => !left.Equals(right);
}
