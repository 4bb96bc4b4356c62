using System.Net;
using System.Net.Sockets;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// One ICE-TCP connection (RFC 6544, passive on our side): RFC 4571 framed in both directions.
/// Sends are serialized with a lock; a connection that cannot keep up is closed rather than buffering without end.
/// </summary>
internal sealed class TcpConnection : PacketPath, IDisposable
{
    private readonly Socket _socket;
    private readonly Lock _sendLock = new();
    private readonly byte[] _sendBuffer = new byte[2 + Rfc4571Framer.MaxFrame];
    private volatile bool _closed;

    public TcpConnection(Socket socket, long id)
        : base(RemoteKey.ForTcpConnection(id, (IPEndPoint)socket.RemoteEndPoint!))
    {
        _socket = socket;
        _socket.NoDelay = true;
        _socket.SendTimeout = 2000;
    }

    public Socket Socket => _socket;

    public override bool IsOpen => !_closed;

    public override bool Send(ReadOnlySpan<byte> packet)
    {
        if (_closed)
        {
            return false;
        }

        lock (_sendLock)
        {
            var length = Rfc4571Framer.Frame(packet, _sendBuffer);
            if (length == 0)
            {
                return false;
            }

            try
            {
                var sent = 0;
                while (sent < length)
                {
                    sent += _socket.Send(_sendBuffer.AsSpan(sent, length - sent), SocketFlags.None);
                }

                return true;
            }
            catch (SocketException)
            {
                Dispose();
                return false;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    public void Dispose()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }
}
