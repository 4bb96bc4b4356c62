using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// Linux's batched datagram calls on the shared UDP socket: one <c>recvmmsg(2)</c> reads every datagram waiting (up to
/// <see cref="Capacity"/>), and one <c>sendmmsg(2)</c> writes everything that batch caused the relay to send. Forwarding
/// one packet to three subscribers costs one system call in four instead of one each: the system call, not the copy, is
/// most of what a datagram costs. Memory is allocated once, outside the managed heap; nothing is allocated per packet.
/// <para>
/// Sends join the batch only on the thread that receives (<see cref="UdpPacketPath.Send"/> asks <see cref="TryQueue"/>)
/// and only while that thread handles a received batch; timers and other threads send at once, as before. Other
/// platforms, or <c>Media__BatchedUdp=false</c>, use the portable one-packet-per-call loop.
/// </para>
/// </summary>
internal sealed unsafe class LinuxUdpBatch : IDisposable
{
    /// <summary>Datagrams read (and queued for sending) per system call.</summary>
    public const int Capacity = 32;

    /// <summary>
    /// The largest datagram taken: media, STUN and DTLS from a browser stay under the path MTU (about 1200–1500 bytes);
    /// a longer one is cut by the kernel, flagged, and dropped.
    /// </summary>
    public const int SlotBytes = 2048;

    /// <summary>sockaddr_storage is 128 bytes; an IPv6 sockaddr_in6, the longest we meet, 28.</summary>
    private const int NameBytes = 128;

    [ThreadStatic]
    private static LinuxUdpBatch? t_sending;

    private readonly Socket _socket;
    private readonly Socket[] _portSockets;
    private readonly SafeHandle _handle;
    private readonly MMsgSlots _receive = new(Capacity, SlotBytes, NameBytes);
    private readonly MMsgSlots _send = new(Capacity, SlotBytes, NameBytes);
    private readonly SocketAddress[] _sources = new SocketAddress[Capacity];
    private int _queued;
    private bool _disposed;
    private long _sendCalls;

    /// <param name="socket">The socket this batch reads and sends on.</param>
    /// <param name="portSockets">
    /// Every socket bound to the same port (<see cref="MediaOptions.UdpReceiveThreads"/>), <paramref name="socket"/>
    /// among them: a datagram for a path that came in on another of them leaves the same port from this one, so it can
    /// join this batch. Just <paramref name="socket"/> when null.
    /// </param>
    public LinuxUdpBatch(Socket socket, Socket[]? portSockets = null)
    {
        _socket = socket;
        _portSockets = portSockets ?? [socket];
        _handle = socket.SafeHandle;
        for (var i = 0; i < Capacity; i++)
        {
            _sources[i] = new SocketAddress(socket.AddressFamily);
        }
    }

    /// <summary>True where the batched calls exist (Linux on a 64-bit process, whose struct layouts these are).</summary>
    public static bool IsSupported => LinuxSocketCalls.IsSupported;

    /// <summary>
    /// Waits up to <paramref name="waitMilliseconds"/> for datagrams and reads all that are waiting, up to
    /// <see cref="Capacity"/>. Returns how many (0 when none came, or the read was interrupted, or an ICMP error for
    /// an earlier send surfaced); -1 once the socket is closed. The read never blocks and the wait is <c>poll(2)</c>, so
    /// neither depends on how the runtime has set the socket up (a blocking read there could sleep past its timeout).
    /// </summary>
    public int Receive(int waitMilliseconds)
    {
        _receive.PrepareReceive();
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var fd = (int)_handle.DangerousGetHandle();
            // What is already waiting first (after a pause there usually is some): one call, no wait.
            var received = _receive.Receive(fd, LinuxSocketCalls.MsgDontWait);
            RelayMetrics.UdpReceiveCalls.Inc();
            if (received > 0)
            {
                return received;
            }

            var wait = new LinuxSocketCalls.PollFd { Fd = fd, Events = LinuxSocketCalls.PollIn };
            if (LinuxSocketCalls.Poll(&wait, 1, waitMilliseconds) <= 0)
            {
                return _handle.IsClosed ? -1 : 0;
            }

            received = _receive.Receive(fd, LinuxSocketCalls.MsgDontWait);
            RelayMetrics.UdpReceiveCalls.Inc();
            // Nothing after all, a signal, or an ICMP error for an earlier send: none of it says anything about the
            // next datagram.
            return received >= 0 ? received : _handle.IsClosed ? -1 : 0;
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Datagram <paramref name="index"/> of the last <see cref="Receive"/>; false when the kernel had to cut it.</summary>
    public bool TryGet(int index, out Span<byte> packet, out SocketAddress source)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Capacity);
        var nameLength = _receive.Headers[index].Header.NameLength;
        source = _sources[index];
        if (!_receive.TryGetReceived(index, out packet) || nameLength > (uint)source.Buffer.Length)
        {
            packet = default;
            return false;
        }

        source.Size = (int)nameLength;
        _receive.Name(index)[..source.Size].CopyTo(source.Buffer.Span);
        return true;
    }

    /// <summary>From now until <see cref="FlushSends"/>, this thread's sends on the socket are queued here.</summary>
    public void BeginSends() => t_sending = this;

    /// <summary>True while the calling thread's sends are queued in a batch (between its BeginSends and FlushSends).</summary>
    public static bool IsGathering => t_sending is not null;

    /// <summary><c>sendmmsg</c> calls this batch has made.</summary>
    public long SendCalls => Volatile.Read(ref _sendCalls);

    /// <summary>
    /// Queues one datagram when the calling thread is handling a received batch of <paramref name="socket"/> or of a
    /// socket sharing its port (sending the queue first when it is full); false when it is not, or the packet does not
    /// fit a slot: then send it now.
    /// </summary>
    public static bool TryQueue(Socket socket, SocketAddress destination, ReadOnlySpan<byte> packet)
    {
        var batch = t_sending;
        if (batch is null || !batch.SharesPort(socket) || packet.Length > SlotBytes || destination.Size > NameBytes)
        {
            return false;
        }

        if (batch._queued == Capacity)
        {
            batch.SendQueued();
        }

        var i = batch._queued++;
        packet.CopyTo(batch._send.Data(i));
        destination.Buffer.Span[..destination.Size].CopyTo(batch._send.Name(i));
        batch._send.Headers[i].Header.NameLength = (uint)destination.Size;
        batch._send.SetSendLength(i, packet.Length);
        return true;
    }

    private bool SharesPort(Socket socket)
    {
        foreach (var portSocket in _portSockets)
        {
            if (ReferenceEquals(portSocket, socket))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Sends what was queued since <see cref="BeginSends"/> and stops queueing.</summary>
    public void FlushSends()
    {
        t_sending = null;
        SendQueued();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (ReferenceEquals(t_sending, this))
        {
            t_sending = null;
        }

        _receive.Dispose();
        _send.Dispose();
    }

    /// <summary>
    /// One <c>sendmmsg</c> for the queue, again for the rest when the kernel took only part of it. A datagram the kernel
    /// refuses (its error comes back when it is first in the call) is dropped and counted, as a failed single send is.
    /// </summary>
    private void SendQueued()
    {
        var count = _queued;
        _queued = 0;
        if (count == 0)
        {
            return;
        }

        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var fd = (int)_handle.DangerousGetHandle();
            var done = 0;
            while (done < count)
            {
                var sent = LinuxSocketCalls.SendMMsg(fd, _send.Headers + done, (uint)(count - done), 0);
                RelayMetrics.UdpSendCalls.Inc();
                Volatile.Write(ref _sendCalls, _sendCalls + 1);
                if (sent > 0)
                {
                    done += sent;
                }
                else if (sent < 0 && Marshal.GetLastPInvokeError() == LinuxSocketCalls.EIntr)
                {
                    continue;
                }
                else
                {
                    RelayMetrics.DroppedSendFailed.Inc();
                    done++;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            RelayMetrics.DroppedSendFailed.Inc(count);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }
}
