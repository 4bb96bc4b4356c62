using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Client;

/// <summary>
/// One UDP port shared by many client transports (the load generator's hundreds of connections), each on a loopback
/// address of its own (127.1.0.1, 127.1.0.2, …), so that they are read and written in batches as the relay's own port
/// is, instead of one socket and one system call per datagram each.
/// <para>
/// The socket is bound to the wildcard address with <c>IP_PKTINFO</c> on (ip(7)): every datagram read says which
/// address it was sent to, and so which transport it is for; every datagram sent says which address it is sent from.
/// All of 127.0.0.0/8 is the host's own (loopback), so a relay on this host sees each transport as a peer with an
/// address of its own, as it would see browsers. A datagram from anyone but the transport's remote is dropped, as the
/// kernel drops it for a connected socket, and so is an empty one, or one cut short for being larger than a slot.
/// </para>
/// <para>
/// One thread reads: <c>poll(2)</c> while nothing waits, then <c>recvmmsg(2)</c> (never blocking) up to
/// <see cref="LinuxUdpBatch.Capacity"/> datagrams a call, handing each to its transport on this thread.
/// <see cref="Send"/> sends one datagram at once from any thread; a <see cref="ClientSendBatch"/> gathers what one
/// thread sends and sends it with one <c>sendmmsg(2)</c>. The same thread calls every receiver that is an
/// <see cref="IPortTickReceiver"/> about every <see cref="TickInterval"/> (a consent check is due every few seconds per
/// transport: hundreds of transports' timers would wake threads hundreds of times a second).
/// </para>
/// <para>
/// Linux on a 64-bit process, and remotes on this host's loopback (127.0.0.0/8) only: a datagram from a 127.x source
/// cannot leave the host. Elsewhere, or for another remote, <see cref="TryAdd"/> returns null, so the caller opens a
/// socket of its own as before. The wildcard bind opens the port on every interface, but only datagrams to a
/// registered 127.x address from that registration's remote are handed over.
/// </para>
/// </summary>
internal sealed unsafe class ClientUdpPort : IDisposable
{
    /// <summary>Bytes of a <c>struct sockaddr_in</c>.</summary>
    internal const int SockaddrInBytes = 16;

    /// <summary><c>CMSG_SPACE(sizeof(struct in_pktinfo))</c> on LP64: a 16-byte <c>cmsghdr</c> and 12 bytes of data, 8-aligned.</summary>
    internal const int PacketInfoSpace = 32;

    /// <summary>Room for the ancillary data of a read: the packet information, and more should the kernel add any.</summary>
    private const int ReceiveControlBytes = 64;

    private const int IpProtocolIp = 0;
    private const int IpPacketInfo = 8;

    /// <summary>How long an idle thread waits in <c>poll</c> before it looks at the stop flag and the tick again.</summary>
    private const int WaitMilliseconds = 250;

    /// <summary>About how often <see cref="IPortTickReceiver"/>s are called: at most this often, and at most a wait later.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(WaitMilliseconds);

    /// <summary>127.1.0.0, host order: the addresses handed out are the ones after it.</summary>
    private const uint FirstAddress = 0x7F01_0000;

    /// <summary>Addresses from 127.1.0.1 to 127.255.255.254.</summary>
    private const uint AddressCount = 0x00FE_FFFE;

    private readonly ConcurrentDictionary<uint, Registration> _registrations = new();
    private readonly Socket? _socket;
    private readonly Thread? _thread;
    private readonly int _coalesceMicroseconds;
    private uint _nextAddress;
    private volatile bool _stopping;
    private int _disposed;
    private long _wakeUps;
    private long _datagrams;
    private long _ticks;

    /// <param name="name">The receive thread's name.</param>
    /// <param name="coalesceMicroseconds">
    /// A pause after a wake-up that found data, so the next one finds more (every datagram is handled up to this much
    /// later); 0, the default, for none.
    /// </param>
    public ClientUdpPort(string name = "client-port", int coalesceMicroseconds = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(coalesceMicroseconds);
        _coalesceMicroseconds = coalesceMicroseconds;
        if (!LinuxSocketCalls.IsSupported)
        {
            return;
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.SendBufferSize = 4 * 1024 * 1024;
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        }
        catch (SocketException)
        {
            socket.Dispose();
            return;
        }

        _socket = socket;
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>False where the port cannot work (not Linux, or the socket could not be opened) or once disposed.</summary>
    public bool IsActive => _socket is not null && !_stopping;

    /// <summary>The port every transport of this one sends from and receives on.</summary>
    public int Port { get; }

    /// <summary>Transports registered now.</summary>
    public int Count => _registrations.Count;

    /// <summary>True while the receive thread runs (for tests).</summary>
    public bool IsAlive => _thread?.IsAlive == true;

    /// <summary>Wake-ups that found data so far.</summary>
    public long WakeUps => Volatile.Read(ref _wakeUps);

    /// <summary>Datagrams read so far (with <see cref="WakeUps"/>: how much each wake-up read).</summary>
    public long Datagrams => Volatile.Read(ref _datagrams);

    /// <summary>Rounds of <see cref="IPortTickReceiver.OnPortTick"/> calls so far.</summary>
    public long Ticks => Volatile.Read(ref _ticks);

    /// <summary>
    /// Gives <paramref name="receiver"/> an address of its own on this port, taking datagrams from
    /// <paramref name="remote"/> only. Null when the port is inactive or disposed, or the remote is not an IPv4
    /// loopback address.
    /// </summary>
    public Registration? TryAdd(IPEndPoint remote, IDatagramReceiver receiver)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(receiver);
        if (!IsActive || remote.AddressFamily != AddressFamily.InterNetwork || !IPAddress.IsLoopback(remote.Address))
        {
            return null;
        }

        for (var attempt = 0; attempt < 64; attempt++)
        {
            var address = FirstAddress + 1 + ((Interlocked.Increment(ref _nextAddress) - 1) % AddressCount);
            var registration = new Registration(this, address, remote, receiver);
            if (_registrations.TryAdd(address, registration))
            {
                return registration;
            }
        }

        return null;
    }

    /// <summary>
    /// Sends <paramref name="datagram"/> from <paramref name="registration"/>'s address to its remote now. False when
    /// the registration was removed, the port disposed, or the kernel refused it.
    /// </summary>
    public bool Send(Registration registration, ReadOnlySpan<byte> datagram)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (registration.IsRemoved || registration.Port != this)
        {
            return false;
        }

        fixed (byte* data = datagram, name = registration.RemoteName, control = registration.SourceControl)
        {
            var vector = new LinuxSocketCalls.IoVec { Base = (nint)data, Length = (nuint)datagram.Length };
            var message = new LinuxSocketCalls.MMsgHdr
            {
                Header = new LinuxSocketCalls.MsgHdr
                {
                    Name = (nint)name,
                    NameLength = (uint)registration.RemoteName.Length,
                    Iov = (nint)(&vector),
                    IovLength = 1,
                    Control = (nint)control,
                    ControlLength = PacketInfoSpace,
                },
            };
            return SendMessages(&message, 1) == 1;
        }
    }

    /// <summary>Stops the thread (within <see cref="WaitMilliseconds"/>) and closes the socket; registrations end with it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        if (_thread is not null && _thread.IsAlive && _thread != Thread.CurrentThread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        foreach (var registration in _registrations.Values)
        {
            registration.Remove();
        }

        _socket?.Dispose();
    }

    /// <summary>
    /// Copies the destination (the registration's remote as a native socket address) and the source (an
    /// <c>IP_PKTINFO</c> control message naming the registration's address) of a datagram sent for
    /// <paramref name="registration"/>, both made once when it was added.
    /// </summary>
    internal static void WriteAddresses(Registration registration, Span<byte> name, Span<byte> control)
    {
        registration.RemoteName.CopyTo(name);
        registration.SourceControl.CopyTo(control);
    }

    /// <summary>
    /// The <c>IP_PKTINFO</c> control message that sends from <paramref name="address"/> (host order): struct cmsghdr
    /// { size_t cmsg_len; int cmsg_level; int cmsg_type; } then struct in_pktinfo { int ipi_ifindex; struct in_addr
    /// ipi_spec_dst; struct in_addr ipi_addr; }, the source being ipi_spec_dst on any interface (0).
    /// </summary>
    private static byte[] PacketInfoFrom(uint address)
    {
        var control = new byte[PacketInfoSpace];
        BinaryPrimitives.WriteUInt64LittleEndian(control, 16 + 12);
        BinaryPrimitives.WriteInt32LittleEndian(control.AsSpan(8), IpProtocolIp);
        BinaryPrimitives.WriteInt32LittleEndian(control.AsSpan(12), IpPacketInfo);
        BinaryPrimitives.WriteUInt32BigEndian(control.AsSpan(20), address);
        return control;
    }

    /// <summary><c>sendmmsg</c> on the port's socket; the messages sent, or -1 (also once disposed).</summary>
    internal int SendMessages(LinuxSocketCalls.MMsgHdr* messages, int count)
    {
        var socket = _socket;
        if (socket is null)
        {
            return -1;
        }

        var added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            return LinuxSocketCalls.SendMMsg((int)socket.SafeHandle.DangerousGetHandle(), messages, (uint)count, 0);
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>The destination address (host order) of a datagram read, from its <c>IP_PKTINFO</c> control message.</summary>
    internal static bool TryReadDestination(ReadOnlySpan<byte> control, out uint address)
    {
        // cmsg(3): each message is its header and data, CMSG_ALIGN'ed (8 on LP64) to the next.
        while (control.Length >= 16)
        {
            var length = BinaryPrimitives.ReadUInt64LittleEndian(control);
            if (length < 16 || length > (ulong)control.Length)
            {
                break;
            }

            if (BinaryPrimitives.ReadInt32LittleEndian(control[8..]) == IpProtocolIp
                && BinaryPrimitives.ReadInt32LittleEndian(control[12..]) == IpPacketInfo
                && length >= 16 + 12)
            {
                address = BinaryPrimitives.ReadUInt32BigEndian(control[24..]);
                return true;
            }

            var next = (int)((length + 7) & ~7UL);
            if (next >= control.Length)
            {
                break;
            }

            control = control[next..];
        }

        address = 0;
        return false;
    }

    private void Run()
    {
        using var slots = new MMsgSlots(LinuxUdpBatch.Capacity, LinuxUdpBatch.SlotBytes, SockaddrInBytes, ReceiveControlBytes);
        var fd = (int)_socket!.SafeHandle.DangerousGetHandle();
        var poll = new LinuxSocketCalls.PollFd { Fd = fd, Events = LinuxSocketCalls.PollIn };
        var nextTick = Environment.TickCount64 + WaitMilliseconds;
        while (!_stopping)
        {
            if (Environment.TickCount64 >= nextTick)
            {
                nextTick = Environment.TickCount64 + WaitMilliseconds;
                Tick();
            }

            // The socket is closed only after this thread ends (Dispose joins it first), so fd stays ours.
            var ready = LinuxSocketCalls.Poll(&poll, 1, (int)Math.Clamp(nextTick - Environment.TickCount64, 0, WaitMilliseconds));
            if (ready <= 0)
            {
                if (ready < 0 && Marshal.GetLastPInvokeError() != LinuxSocketCalls.EIntr)
                {
                    return;
                }

                continue;
            }

            var datagrams = 0;
            while (!_stopping)
            {
                slots.PrepareReceive();
                var received = slots.Receive(fd, LinuxSocketCalls.MsgDontWait);
                if (received <= 0)
                {
                    // EAGAIN: all read. Anything else (an ICMP error for an earlier send, udp(7)) is cleared by the
                    // read that reported it; the next wake-up goes on.
                    break;
                }

                datagrams += received;
                for (var i = 0; i < received; i++)
                {
                    Deliver(slots, i);
                }

                // All read, or a tick due: a port that never runs dry still ticks (the data waits one poll).
                if (received < slots.Count || Environment.TickCount64 >= nextTick)
                {
                    break;
                }
            }

            // Written by this thread only.
            Volatile.Write(ref _wakeUps, _wakeUps + 1);
            Volatile.Write(ref _datagrams, _datagrams + datagrams);
            if (_coalesceMicroseconds > 0)
            {
                LinuxSocketCalls.SleepMicroseconds(_coalesceMicroseconds);
            }
        }
    }

    private void Tick()
    {
        // The dictionary's enumerator takes no lock and sees registrations added or removed meanwhile, or not.
        foreach (var pair in _registrations)
        {
            if (pair.Value.Receiver is IPortTickReceiver receiver && !pair.Value.IsRemoved)
            {
                try
                {
                    receiver.OnPortTick();
                }
                catch (Exception)
                {
                    // As for a datagram: a failing receiver misses this tick; the others go on.
                }
            }
        }

        Volatile.Write(ref _ticks, _ticks + 1);
    }

    private void Deliver(MMsgSlots slots, int index)
    {
        ref var header = ref slots.Headers[index].Header;
        if (!slots.TryGetReceived(index, out var datagram)
            || datagram.IsEmpty
            || !TryReadDestination(slots.Control(index)[..(int)Math.Min(header.ControlLength, (nuint)ReceiveControlBytes)], out var destination)
            || !_registrations.TryGetValue(destination, out var registration))
        {
            return;
        }

        // The source as the kernel wrote it (sin_zero cleared) against the remote as the runtime serializes it.
        if (!slots.Name(index)[..(int)Math.Min(header.NameLength, (uint)SockaddrInBytes)].SequenceEqual(registration.RemoteName)
            || registration.IsRemoved)
        {
            return;
        }

        try
        {
            registration.Receiver.OnDatagram(datagram);
        }
        catch (Exception)
        {
            // A failing receiver loses this datagram; the port's other transports go on.
        }
    }

    /// <summary>One transport's address on the port, until <see cref="Remove"/>.</summary>
    internal sealed class Registration
    {
        private int _removed;

        internal Registration(ClientUdpPort port, uint localAddress, IPEndPoint remote, IDatagramReceiver receiver)
        {
            Port = port;
            LocalAddress = localAddress;
            var name = remote.Serialize();
            RemoteName = name.Buffer[..name.Size].ToArray();
            SourceControl = PacketInfoFrom(localAddress);
            Receiver = receiver;
            LocalEndPoint = new IPEndPoint(new IPAddress([(byte)(localAddress >> 24), (byte)(localAddress >> 16), (byte)(localAddress >> 8), (byte)localAddress]), port.Port);
        }

        public ClientUdpPort Port { get; }

        /// <summary>The transport's own address and the port's port: what the remote sees as its peer.</summary>
        public IPEndPoint LocalEndPoint { get; }

        /// <summary>The transport's address, host order.</summary>
        internal uint LocalAddress { get; }

        /// <summary>The remote as a native socket address (<see cref="IPEndPoint.Serialize"/>): where sends go, and the only source taken.</summary>
        internal byte[] RemoteName { get; }

        /// <summary>The control message a send from this address carries (<see cref="PacketInfoFrom"/>).</summary>
        internal byte[] SourceControl { get; }

        internal IDatagramReceiver Receiver { get; }

        public bool IsRemoved => Volatile.Read(ref _removed) != 0;

        /// <summary>
        /// Frees the address: nothing is handed over once this returns (except a datagram being handed over now), and
        /// sends fail. Idempotent, from any thread.
        /// </summary>
        public void Remove()
        {
            if (Interlocked.Exchange(ref _removed, 1) == 0)
            {
                Port._registrations.TryRemove(new KeyValuePair<uint, Registration>(LocalAddress, this));
            }
        }
    }
}
