using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Client;

/// <summary>What a <see cref="ClientReceiveGroup"/> hands each datagram it reads for a registered socket.</summary>
internal interface IDatagramReceiver
{
    /// <summary>One datagram, valid only during the call; always on the same group thread for one registration.</summary>
    void OnDatagram(Span<byte> datagram);
}

/// <summary>
/// A receiver on a <see cref="ClientUdpPort"/> that also wants the port's thread to call it every
/// <see cref="ClientUdpPort.TickInterval"/> or so: periodic work (consent checks) done on a thread that wakes anyway,
/// instead of on a timer of its own per transport.
/// </summary>
internal interface IPortTickReceiver : IDatagramReceiver
{
    /// <summary>On the port's receive thread; must not block.</summary>
    void OnPortTick();
}

/// <summary>
/// A few threads that receive for many connected client UDP sockets (the load generator's hundreds of
/// <see cref="WebRtcClientTransport"/>s), instead of one blocked thread per socket woken for every packet. Each thread
/// owns an <c>epoll(7)</c> set and a share of the sockets; one <c>epoll_wait(2)</c> reports every socket with data,
/// and each is read with <c>recvmmsg(2)</c> (non-blocking, up to <see cref="LinuxUdpBatch.Capacity"/> datagrams a call)
/// into memory allocated once (<see cref="MMsgSlots"/>), then handed datagram by datagram to its receiver. A datagram
/// longer than <see cref="LinuxUdpBatch.SlotBytes"/> is cut by the kernel (MSG_TRUNC) and dropped: what a relay sends
/// stays under the path MTU (DTLS records under <see cref="Dtls.DtlsOptions.SendLimit"/>, media under about 1,300 bytes).
/// <para>
/// Linux on a 64-bit process only; elsewhere, or when <c>epoll_create1</c> fails, the group is inactive and
/// <see cref="TryAdd"/> returns null, so the caller reads with a thread of its own as before.
/// </para>
/// <para>
/// Closing: <see cref="Registration.Remove"/> takes the socket out of the set (EPOLL_CTL_DEL) and stops delivery; call it
/// before disposing the socket. A socket disposed first is harmless too: the group holds a reference on the socket's
/// handle (<see cref="SafeHandle.DangerousAddRef"/>) only around each system call, never while a receiver runs, so the
/// descriptor cannot be closed, or its number reused, under a call, and a closed one is skipped.
/// </para>
/// </summary>
internal sealed unsafe class ClientReceiveGroup : IDisposable
{
    /// <summary>How long an idle thread waits before it looks at the stop flag again.</summary>
    private const int WaitMilliseconds = 250;

    /// <summary>Ready sockets taken from one <c>epoll_wait</c>.</summary>
    private const int MaxEvents = 64;

    /// <summary>
    /// Full reads of one socket before the thread moves on to the next ready one, so that one flooded socket cannot
    /// starve the others; the set is level-triggered, so what is left is reported again at once.
    /// </summary>
    private const int MaxReadsPerWake = 4;

    private readonly Loop[] _loops;
    private long _nextToken;
    private int _disposed;

    /// <param name="threads">Receive threads; 0 or less for one per processor.</param>
    /// <param name="name">Thread name prefix.</param>
    /// <param name="coalesceMicroseconds">
    /// A pause after a wake-up that found data, so the next one finds more (fewer wake-ups, each reading more; every
    /// datagram is handled up to this much later); 0, the default, for none.
    /// </param>
    public ClientReceiveGroup(int threads = 0, string name = "client-receive", int coalesceMicroseconds = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(coalesceMicroseconds);
        var count = threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount);
        var loops = new List<Loop>();
        if (LinuxSocketCalls.IsSupported)
        {
            for (var i = 0; i < count; i++)
            {
                var epollFd = LinuxSocketCalls.EpollCreate1(LinuxSocketCalls.EpollCloseOnExec);
                if (epollFd < 0)
                {
                    break;
                }

                loops.Add(new Loop(epollFd, $"{name}-{i}", coalesceMicroseconds));
            }

            if (loops.Count < count)
            {
                // epoll is unavailable (or ran out of descriptors): the group stays inactive as a whole.
                foreach (var loop in loops)
                {
                    loop.Stop(join: false);
                }

                loops.Clear();
            }
        }

        _loops = [.. loops];
        foreach (var loop in _loops)
        {
            loop.Start();
        }
    }

    /// <summary>False where the group cannot receive (not Linux, no epoll): <see cref="TryAdd"/> always returns null.</summary>
    public bool IsActive => _loops.Length > 0 && Volatile.Read(ref _disposed) == 0;

    /// <summary>Receive threads: fixed from construction until <see cref="Dispose"/>, however many sockets come and go.</summary>
    public int ThreadCount => _loops.Length;

    /// <summary>Threads still running (for tests: all of them until <see cref="Dispose"/>, none after).</summary>
    public int LiveThreads => _loops.Count(l => l.IsAlive);

    /// <summary>Sockets registered now.</summary>
    public int Count => _loops.Sum(l => l.Count);

    /// <summary>Wake-ups that found a socket ready, over all threads, so far.</summary>
    public long WakeUps => _loops.Sum(l => l.WakeUps);

    /// <summary>Datagrams read, over all threads, so far (with <see cref="WakeUps"/>: how much each wake-up read).</summary>
    public long Datagrams => _loops.Sum(l => l.Datagrams);

    /// <summary>Sockets in the kernel's epoll sets now, as <c>/proc/self/fdinfo</c> lists them (for tests; -1 when unreadable).</summary>
    public int KernelRegistrations()
    {
        var total = 0;
        foreach (var loop in _loops)
        {
            try
            {
                total += File.ReadLines($"/proc/self/fdinfo/{loop.EpollFd}").Count(l => l.StartsWith("tfd:", StringComparison.Ordinal));
            }
            catch (IOException)
            {
                return -1;
            }
        }

        return total;
    }

    /// <summary>
    /// Starts receiving for <paramref name="socket"/> (a connected UDP socket) on the least loaded thread, handing every
    /// datagram to <paramref name="receiver"/>. Null when the group is inactive or disposed, or the socket is closed:
    /// the caller then receives by itself.
    /// </summary>
    public Registration? TryAdd(Socket socket, IDatagramReceiver receiver)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(receiver);
        if (!IsActive)
        {
            return null;
        }

        var loop = _loops[0];
        foreach (var candidate in _loops)
        {
            if (candidate.Count < loop.Count)
            {
                loop = candidate;
            }
        }

        var registration = new Registration(loop, (ulong)Interlocked.Increment(ref _nextToken), socket.SafeHandle, receiver);
        return loop.Add(registration) ? registration : null;
    }

    /// <summary>Stops the threads (each within <see cref="WaitMilliseconds"/>); registrations end with them.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var loop in _loops)
        {
            loop.Stop(join: true);
        }
    }

    /// <summary>One socket in the group, until <see cref="Remove"/>.</summary>
    internal sealed class Registration
    {
        private readonly Loop _loop;
        private int _removed;

        internal Registration(Loop loop, ulong token, SafeHandle handle, IDatagramReceiver receiver)
        {
            _loop = loop;
            Token = token;
            Handle = handle;
            Receiver = receiver;
        }

        internal ulong Token { get; }

        internal SafeHandle Handle { get; }

        internal IDatagramReceiver Receiver { get; }

        internal bool IsRemoved => Volatile.Read(ref _removed) != 0;

        /// <summary>
        /// Takes the socket out of the group: no datagram is handed over once this returns (except one the thread is
        /// handing over right now). Idempotent, safe from any thread, the group's own included, and after the socket or
        /// the group were disposed.
        /// </summary>
        public void Remove()
        {
            if (Interlocked.Exchange(ref _removed, 1) == 0)
            {
                _loop.Remove(this);
            }
        }
    }

    /// <summary>One thread with its epoll set and the sockets in it.</summary>
    internal sealed class Loop
    {
        private readonly ConcurrentDictionary<ulong, Registration> _registrations = new();
        private readonly Lock _control = new();
        private readonly Thread _thread;
        private int _epollFd;
        private readonly int _coalesceMicroseconds;
        private volatile bool _stopping;
        private long _wakeUps;
        private long _datagrams;

        public Loop(int epollFd, string name, int coalesceMicroseconds)
        {
            _coalesceMicroseconds = coalesceMicroseconds;
            _epollFd = epollFd;
            _thread = new Thread(Run) { IsBackground = true, Name = name };
        }

        public int EpollFd => _epollFd;

        public int Count => _registrations.Count;

        public bool IsAlive => _thread.IsAlive;

        public long WakeUps => Volatile.Read(ref _wakeUps);

        public long Datagrams => Volatile.Read(ref _datagrams);

        public void Start() => _thread.Start();

        /// <summary>
        /// Registers under <see cref="_control"/>, so the epoll descriptor cannot be closed under the call; the entry is
        /// in the dictionary first, so an event that comes at once finds it.
        /// </summary>
        public bool Add(Registration registration)
        {
            _registrations[registration.Token] = registration;
            var added = false;
            lock (_control)
            {
                try
                {
                    registration.Handle.DangerousAddRef(ref added);
                    if (!_stopping && _epollFd >= 0)
                    {
                        var data = stackalloc byte[16];
                        LinuxSocketCalls.WriteEpollEvent(data, LinuxSocketCalls.EpollIn, registration.Token);
                        var fd = (int)registration.Handle.DangerousGetHandle();
                        if (LinuxSocketCalls.EpollCtl(_epollFd, LinuxSocketCalls.EpollCtlAdd, fd, data) == 0)
                        {
                            return true;
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The socket was closed before it could be added.
                }
                finally
                {
                    if (added)
                    {
                        registration.Handle.DangerousRelease();
                    }
                }
            }

            _registrations.TryRemove(registration.Token, out _);
            return false;
        }

        public void Remove(Registration registration)
        {
            _registrations.TryRemove(registration.Token, out _);
            var added = false;
            lock (_control)
            {
                try
                {
                    registration.Handle.DangerousAddRef(ref added);
                    if (_epollFd >= 0)
                    {
                        // epoll_ctl(2): EPOLL_CTL_DEL ignores the event argument (non-null only for kernels before 2.6.9).
                        var unused = stackalloc byte[16];
                        _ = LinuxSocketCalls.EpollCtl(_epollFd, LinuxSocketCalls.EpollCtlDel, (int)registration.Handle.DangerousGetHandle(), unused);
                    }
                }
                catch (ObjectDisposedException)
                {
                    // Already closed: closing the last descriptor of a socket takes it out of every epoll set (epoll(7), Q6).
                }
                finally
                {
                    if (added)
                    {
                        registration.Handle.DangerousRelease();
                    }
                }
            }
        }

        /// <summary>
        /// Stops the thread and closes the epoll descriptor once it is out of <c>epoll_wait</c>; a thread still busy (a
        /// receiver that blocks, or the caller itself) closes it on its way out instead.
        /// </summary>
        public void Stop(bool join)
        {
            _stopping = true;
            if (join && _thread.IsAlive && _thread != Thread.CurrentThread)
            {
                _thread.Join(TimeSpan.FromSeconds(5));
            }

            if (!_thread.IsAlive)
            {
                CloseEpoll();
            }
        }

        private void CloseEpoll()
        {
            lock (_control)
            {
                if (_epollFd >= 0)
                {
                    _ = LinuxSocketCalls.Close(_epollFd);
                    _epollFd = -1;
                }
            }

            foreach (var registration in _registrations.Values)
            {
                registration.Remove();
            }
        }

        private void Run()
        {
            var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * LinuxSocketCalls.EpollEventSize));
            using var slots = new MMsgSlots(LinuxUdpBatch.Capacity, LinuxUdpBatch.SlotBytes, nameBytes: 0);
            try
            {
                while (!_stopping)
                {
                    var ready = LinuxSocketCalls.EpollWait(_epollFd, events, MaxEvents, WaitMilliseconds);
                    if (ready < 0)
                    {
                        if (Marshal.GetLastPInvokeError() == LinuxSocketCalls.EIntr)
                        {
                            continue;
                        }

                        return;
                    }

                    var datagrams = 0;
                    for (var i = 0; i < ready && !_stopping; i++)
                    {
                        if (_registrations.TryGetValue(LinuxSocketCalls.ReadEpollData(events, i), out var registration))
                        {
                            datagrams += Drain(registration, slots);
                        }
                    }

                    // Written by this thread only.
                    Volatile.Write(ref _wakeUps, _wakeUps + (ready > 0 ? 1 : 0));
                    Volatile.Write(ref _datagrams, _datagrams + datagrams);

                    if (ready is > 0 and < MaxEvents && _coalesceMicroseconds > 0)
                    {
                        LinuxSocketCalls.SleepMicroseconds(_coalesceMicroseconds);
                    }
                }
            }
            finally
            {
                NativeMemory.Free(events);
                CloseEpoll();
            }
        }

        /// <summary>
        /// Reads what waits on one socket. A read that did not fill every slot found the queue empty, so the thread moves
        /// on without the further call that would only say EAGAIN: the set is level-triggered (<c>epoll(7)</c>), so a
        /// datagram that came meanwhile makes the next <c>epoll_wait</c> report the socket again.
        /// </summary>
        /// <returns>The datagrams read.</returns>
        private static int Drain(Registration registration, MMsgSlots slots)
        {
            var total = 0;
            for (var read = 0; read < MaxReadsPerWake; read++)
            {
                slots.PrepareReceive();
                int received;
                int error = 0;
                var added = false;
                try
                {
                    registration.Handle.DangerousAddRef(ref added);
                    received = slots.Receive((int)registration.Handle.DangerousGetHandle(), LinuxSocketCalls.MsgDontWait);
                    if (received < 0)
                    {
                        error = Marshal.GetLastPInvokeError();
                    }
                }
                catch (ObjectDisposedException)
                {
                    return total;
                }
                finally
                {
                    if (added)
                    {
                        registration.Handle.DangerousRelease();
                    }
                }

                if (received < 0)
                {
                    // EAGAIN: nothing (left). Anything else, e.g. ECONNREFUSED for an ICMP error after an earlier send
                    // (udp(7)), is reported once and cleared; a later read takes the next datagram.
                    if (error == LinuxSocketCalls.EAgain)
                    {
                        return total;
                    }

                    continue;
                }

                total += received;
                for (var i = 0; i < received && !registration.IsRemoved; i++)
                {
                    if (slots.TryGetReceived(i, out var datagram))
                    {
                        try
                        {
                            registration.Receiver.OnDatagram(datagram);
                        }
                        catch (Exception)
                        {
                            // A failing receiver loses this datagram; the other sockets of the thread go on.
                        }
                    }
                }

                if (received < slots.Count || registration.IsRemoved)
                {
                    return total;
                }
            }

            return total;
        }
    }
}
