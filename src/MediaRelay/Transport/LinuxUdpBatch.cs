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
internal sealed unsafe partial class LinuxUdpBatch : IDisposable
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

    private const int MsgTrunc = 0x20;
    private const int MsgDontWait = 0x40;
    private const short PollIn = 0x1;
    private const int EIntr = 4;

    [ThreadStatic]
    private static LinuxUdpBatch? t_sending;

    private readonly Socket _socket;
    private readonly Socket[] _portSockets;
    private readonly SafeHandle _handle;
    private readonly byte* _memory;
    private readonly MMsgHdr* _receive;
    private readonly MMsgHdr* _send;
    private readonly byte* _receiveData;
    private readonly byte* _sendData;
    private readonly byte* _receiveNames;
    private readonly byte* _sendNames;
    private readonly SocketAddress[] _sources = new SocketAddress[Capacity];
    private int _queued;
    private bool _disposed;

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
        var headers = 2 * Capacity * sizeof(MMsgHdr);
        var vectors = 2 * Capacity * sizeof(IoVec);
        var total = headers + vectors + (2 * Capacity * (SlotBytes + NameBytes));
        _memory = (byte*)NativeMemory.AlignedAlloc((nuint)total, 64);
        NativeMemory.Clear(_memory, (nuint)total);
        _receive = (MMsgHdr*)_memory;
        _send = _receive + Capacity;
        var iov = (IoVec*)(_memory + headers);
        _receiveData = _memory + headers + vectors;
        _sendData = _receiveData + (Capacity * SlotBytes);
        _receiveNames = _sendData + (Capacity * SlotBytes);
        _sendNames = _receiveNames + (Capacity * NameBytes);
        for (var i = 0; i < Capacity; i++)
        {
            iov[i] = new IoVec { Base = (nint)(_receiveData + (i * SlotBytes)), Length = SlotBytes };
            iov[Capacity + i] = new IoVec { Base = (nint)(_sendData + (i * SlotBytes)), Length = 0 };
            _receive[i].Header = new MsgHdr { Name = (nint)(_receiveNames + (i * NameBytes)), Iov = (nint)(iov + i), IovLength = 1 };
            _send[i].Header = new MsgHdr { Name = (nint)(_sendNames + (i * NameBytes)), Iov = (nint)(iov + Capacity + i), IovLength = 1 };
            _sources[i] = new SocketAddress(socket.AddressFamily);
        }
    }

    /// <summary>True where the batched calls exist (Linux on a 64-bit process, whose struct layouts these are).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>
    /// Waits up to <paramref name="waitMilliseconds"/> for datagrams and reads all that are waiting, up to
    /// <see cref="Capacity"/>. Returns how many (0 when none came, or the read was interrupted, or an ICMP error for
    /// an earlier send surfaced); -1 once the socket is closed. The read never blocks and the wait is <c>poll(2)</c>, so
    /// neither depends on how the runtime has set the socket up (a blocking read there could sleep past its timeout).
    /// </summary>
    public int Receive(int waitMilliseconds)
    {
        for (var i = 0; i < Capacity; i++)
        {
            _receive[i].Header.NameLength = NameBytes;
            _receive[i].Header.Flags = 0;
            _receive[i].Length = 0;
        }

        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var fd = (int)_handle.DangerousGetHandle();
            // What is already waiting first (after a pause there usually is some): one call, no wait.
            var received = RecvMMsg(fd, _receive, Capacity, MsgDontWait, 0);
            RelayMetrics.UdpReceiveCalls.Inc();
            if (received > 0)
            {
                return received;
            }

            var wait = new PollFd { Fd = fd, Events = PollIn };
            if (Poll(&wait, 1, waitMilliseconds) <= 0)
            {
                return _handle.IsClosed ? -1 : 0;
            }

            received = RecvMMsg(fd, _receive, Capacity, MsgDontWait, 0);
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
        ref var header = ref _receive[index];
        source = _sources[index];
        if ((header.Header.Flags & MsgTrunc) != 0 || header.Header.NameLength > (uint)source.Buffer.Length)
        {
            packet = default;
            return false;
        }

        source.Size = (int)header.Header.NameLength;
        new ReadOnlySpan<byte>(_receiveNames + (index * NameBytes), source.Size).CopyTo(source.Buffer.Span);
        packet = new Span<byte>(_receiveData + (index * SlotBytes), (int)header.Length);
        return true;
    }

    /// <summary>From now until <see cref="FlushSends"/>, this thread's sends on the socket are queued here.</summary>
    public void BeginSends() => t_sending = this;

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
        packet.CopyTo(new Span<byte>(batch._sendData + (i * SlotBytes), SlotBytes));
        destination.Buffer.Span[..destination.Size].CopyTo(new Span<byte>(batch._sendNames + (i * NameBytes), NameBytes));
        ref var header = ref batch._send[i].Header;
        header.NameLength = (uint)destination.Size;
        ((IoVec*)header.Iov)->Length = (nuint)packet.Length;
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

        NativeMemory.AlignedFree(_memory);
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
                var sent = SendMMsg(fd, _send + done, (uint)(count - done), 0);
                RelayMetrics.UdpSendCalls.Inc();
                if (sent > 0)
                {
                    done += sent;
                }
                else if (sent < 0 && Marshal.GetLastPInvokeError() == EIntr)
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

    /// <summary>Sleeps this thread for about <paramref name="microseconds"/> (the runtime's own sleeps count whole milliseconds).</summary>
    public static void Pause(int microseconds) => _ = USleep((uint)microseconds);

    [LibraryImport("libc", EntryPoint = "usleep")]
    private static partial int USleep(uint microseconds);

    [LibraryImport("libc", EntryPoint = "poll")]
    private static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, nint timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public nint Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct mmsghdr.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }
}
