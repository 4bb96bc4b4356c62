using System.Net;
using System.Net.Sockets;
using Teletherapy.MediaRelay.Ice;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>The way back to one remote: the shared UDP socket and a remote address, or one TCP connection.</summary>
internal abstract class PacketPath : IIceCandidatePath
{
    protected PacketPath(RemoteKey key)
    {
        Key = key;
    }

    public RemoteKey Key { get; }

    public abstract bool IsOpen { get; }

    /// <summary>
    /// Sends one packet without blocking; returns false when it could not be sent (counted here, in
    /// <c>teletherapy_relay_packets_dropped_total</c>, with the reason the path knows).
    /// </summary>
    public abstract bool Send(ReadOnlySpan<byte> packet);
}

/// <summary>A remote address reached through the shared UDP socket.</summary>
internal sealed class UdpPacketPath : PacketPath
{
    private readonly Socket _socket;
    private readonly SocketAddress _address;

    public UdpPacketPath(Socket socket, SocketAddress address, RemoteKey key)
        : base(key)
    {
        _socket = socket;
        _address = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span.CopyTo(_address.Buffer.Span);
    }

    public UdpPacketPath(Socket socket, IPEndPoint remote)
        : this(socket, remote.Serialize(), RemoteKey.FromEndPoint(remote))
    {
    }

    public override bool IsOpen => _socket.SafeHandle is { IsClosed: false, IsInvalid: false };

    public override bool Send(ReadOnlySpan<byte> packet)
    {
        if (LinuxUdpBatch.TryQueue(_socket, _address, packet))
        {
            return true;
        }

        try
        {
            RelayMetrics.UdpSendCalls.Inc();
            if (_socket.SendTo(packet, SocketFlags.None, _address) == packet.Length)
            {
                return true;
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        RelayMetrics.DroppedSendFailed.Inc();
        return false;
    }
}
