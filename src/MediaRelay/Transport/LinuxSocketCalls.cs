using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// The libc calls and structures (LP64 Linux) behind the batched datagram paths: <c>recvmmsg(2)</c> and
/// <c>sendmmsg(2)</c> with their <c>struct mmsghdr</c>, <c>poll(2)</c>, <c>epoll(7)</c> and a microsecond sleep. Used
/// by <see cref="LinuxUdpBatch"/> (the relay's shared socket) and the client's <c>ClientReceiveGroup</c> (src/MediaRelay.Client).
/// </summary>
internal static unsafe partial class LinuxSocketCalls
{
    public const int MsgTrunc = 0x20;
    public const int MsgDontWait = 0x40;
    public const short PollIn = 0x1;
    public const int EIntr = 4;
    public const int EAgain = 11;

    /// <summary>ip(7): the <c>IP_MTU_DISCOVER</c> option and its <c>IP_PMTUDISC_PROBE</c> value.</summary>
    public const int IpMtuDiscover = 10;
    public const int IpPmtuDiscProbe = 3;

    /// <summary>epoll_ctl(2) operations and event bits, and epoll_create1's close-on-exec flag (O_CLOEXEC).</summary>
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const uint EpollIn = 0x1;
    public const int EpollCloseOnExec = 0x80000;

    /// <summary>True where these calls and layouts apply (Linux on a 64-bit process).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>
    /// Size of <c>struct epoll_event</c>: glibc's &lt;sys/epoll.h&gt; packs it on x86-64 only (<c>__EPOLL_PACKED</c>),
    /// so there the 64-bit data follows the 32-bit event mask directly; elsewhere it is aligned to 8.
    /// </summary>
    public static int EpollEventSize => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>Offset of <c>epoll_event.data</c> (see <see cref="EpollEventSize"/>).</summary>
    public static int EpollDataOffset => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    /// <summary>
    /// socket(7): <c>SO_REUSEPORT</c> (15 at <c>SOL_SOCKET</c>, 1), set before bind, lets sockets of one user share a
    /// port; the kernel hashes each remote's address and port to one of them.
    /// </summary>
    public static void EnableReusePort(Socket socket) => socket.SetRawSocketOption(1, 15, BitConverter.GetBytes(1));

    /// <summary>
    /// ip(7): <c>IP_MTU_DISCOVER</c> (10 at <c>IPPROTO_IP</c>, 0) set to <c>IP_PMTUDISC_PROBE</c> (3): every datagram
    /// leaves with Don't Fragment set, whatever path MTU the kernel has learned. Browsers keep media packets near 1,200
    /// bytes and DTLS records are cut to 1,200, within any ordinary path's MTU. A datagram with DF set from an
    /// unconnected socket carries IP ID 0, where without it the kernel draws an ID per datagram from a table shared by
    /// the whole host (<c>__ip_select_ident</c>, a hash and an atomic on every send: 2.8 % of the relay's CPU at 100
    /// sessions).
    /// IPv4 only; IPv6 has no ID to draw and never fragments in flight.
    /// </summary>
    public static void DontFragment(Socket socket) => socket.SetRawSocketOption(0, IpMtuDiscover, BitConverter.GetBytes(IpPmtuDiscProbe));

    /// <summary>Sleeps this thread for about <paramref name="microseconds"/> (the runtime's own sleeps count whole milliseconds).</summary>
    public static void SleepMicroseconds(int microseconds) => _ = USleep((uint)microseconds);

    [LibraryImport("libc", EntryPoint = "usleep")]
    private static partial int USleep(uint microseconds);

    [LibraryImport("libc", EntryPoint = "poll")]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, nint timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    /// <summary><c>epoll_ctl(2)</c>; <paramref name="eventData"/> is one <c>struct epoll_event</c> (null for EPOLL_CTL_DEL).</summary>
    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epollFd, int operation, int fd, byte* eventData);

    /// <summary><c>epoll_wait(2)</c> into <paramref name="events"/>: room for <paramref name="maxEvents"/> of <see cref="EpollEventSize"/>.</summary>
    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epollFd, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>Writes one <c>struct epoll_event</c> into <paramref name="target"/> (at least <see cref="EpollEventSize"/> bytes).</summary>
    public static void WriteEpollEvent(byte* target, uint events, ulong data)
    {
        new Span<byte>(target, EpollEventSize).Clear();
        *(uint*)target = events;
        *(ulong*)(target + EpollDataOffset) = data;
    }

    /// <summary>The data of event <paramref name="index"/> in an <c>epoll_wait</c> result.</summary>
    public static ulong ReadEpollData(byte* events, int index) =>
        *(ulong*)(events + (index * EpollEventSize) + EpollDataOffset);

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
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
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }
}

/// <summary>
/// Native memory for <see cref="Count"/> datagrams as <c>recvmmsg(2)</c>/<c>sendmmsg(2)</c> take them: per slot one
/// <c>mmsghdr</c>, one <c>iovec</c>, a data buffer of <see cref="SlotBytes"/>, when <c>nameBytes</c> is not 0 an
/// address buffer (a connected socket needs none) and, when <c>controlBytes</c> is not 0, a buffer of ancillary data
/// (<c>cmsg(3)</c>, 8-aligned). Allocated once, outside the managed heap.
/// </summary>
internal sealed unsafe class MMsgSlots : IDisposable
{
    private readonly byte* _memory;
    private readonly byte* _data;
    private readonly byte* _names;
    private readonly byte* _controls;
    private readonly int _nameBytes;
    private readonly int _controlBytes;
    private bool _disposed;

    public MMsgSlots(int count, int slotBytes, int nameBytes, int controlBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(controlBytes % 8, 0);
        Count = count;
        SlotBytes = slotBytes;
        _nameBytes = nameBytes;
        _controlBytes = controlBytes;
        var headers = count * sizeof(LinuxSocketCalls.MMsgHdr);
        var vectors = count * sizeof(LinuxSocketCalls.IoVec);
        var controls = count * controlBytes;
        var total = headers + vectors + controls + (count * (slotBytes + nameBytes));
        _memory = (byte*)NativeMemory.AlignedAlloc((nuint)total, 64);
        NativeMemory.Clear(_memory, (nuint)total);
        Headers = (LinuxSocketCalls.MMsgHdr*)_memory;
        var iov = (LinuxSocketCalls.IoVec*)(_memory + headers);
        _controls = _memory + headers + vectors;
        _data = _controls + controls;
        _names = _data + (count * slotBytes);
        for (var i = 0; i < count; i++)
        {
            iov[i] = new LinuxSocketCalls.IoVec { Base = (nint)(_data + (i * slotBytes)), Length = (nuint)slotBytes };
            Headers[i].Header = new LinuxSocketCalls.MsgHdr
            {
                Name = nameBytes == 0 ? 0 : (nint)(_names + (i * nameBytes)),
                Iov = (nint)(iov + i),
                IovLength = 1,
                Control = controlBytes == 0 ? 0 : (nint)(_controls + (i * controlBytes)),
                ControlLength = (nuint)controlBytes,
            };
        }
    }

    public int Count { get; }

    public int SlotBytes { get; }

    public LinuxSocketCalls.MMsgHdr* Headers { get; }

    /// <summary>Slot <paramref name="index"/>'s whole data buffer.</summary>
    public Span<byte> Data(int index) => new(_data + (index * SlotBytes), SlotBytes);

    /// <summary>Slot <paramref name="index"/>'s whole address buffer.</summary>
    public Span<byte> Name(int index) => new(_names + (index * _nameBytes), _nameBytes);

    /// <summary>Slot <paramref name="index"/>'s whole ancillary-data buffer.</summary>
    public Span<byte> Control(int index) => new(_controls + (index * _controlBytes), _controlBytes);

    /// <summary>Readies every slot for a read: full address, ancillary and data room, no flags, no length.</summary>
    public void PrepareReceive()
    {
        for (var i = 0; i < Count; i++)
        {
            Headers[i].Header.NameLength = (uint)_nameBytes;
            Headers[i].Header.ControlLength = (nuint)_controlBytes;
            Headers[i].Header.Flags = 0;
            Headers[i].Length = 0;
        }
    }

    /// <summary>One <c>recvmmsg</c> into every slot; the count, or -1 with the error in <see cref="Marshal.GetLastPInvokeError"/>.</summary>
    public int Receive(int fd, int flags) => LinuxSocketCalls.RecvMMsg(fd, Headers, (uint)Count, flags, 0);

    /// <summary>The datagram read into slot <paramref name="index"/>; false when the kernel had to cut it (MSG_TRUNC).</summary>
    public bool TryGetReceived(int index, out Span<byte> packet)
    {
        ref var header = ref Headers[index];
        if ((header.Header.Flags & LinuxSocketCalls.MsgTrunc) != 0)
        {
            packet = default;
            return false;
        }

        packet = new Span<byte>(_data + (index * SlotBytes), (int)header.Length);
        return true;
    }

    /// <summary>Sets how many bytes of slot <paramref name="index"/> a send takes.</summary>
    public void SetSendLength(int index, int length) => ((LinuxSocketCalls.IoVec*)Headers[index].Header.Iov)->Length = (nuint)length;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        NativeMemory.AlignedFree(_memory);
    }
}
