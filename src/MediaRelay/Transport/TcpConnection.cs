using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// One ICE-TCP connection (RFC 6544, passive on our side): RFC 4571 framed in both directions.
/// </summary>
/// <remarks>
/// <para>
/// Sends never block the caller, which is the UDP receive thread forwarding to every session: a frame is copied into
/// this connection's bounded send queue and, when nothing is queued before it, handed to the kernel at once with a
/// non-blocking send. Whatever the kernel does not take is written by the connection's own writer (async), woken when
/// the queue backs up. When the queue is full the packet is dropped and counted (<c>tcp-queue-full</c>); a queue that
/// stays full for the stall timeout (the subscriber stopped reading) closes the connection.
/// </para>
/// <para>
/// Nothing is allocated for a connection before it is used: the send queue is made on the first send (small, growing
/// to its limit under backpressure), the reassembly storage of <see cref="Framer"/> on the first split frame, and the
/// read loop rents its buffer only while data is there. Until an authenticated STUN check binds the connection to a
/// transport (<see cref="MarkAuthenticated"/>) frames are limited to <see cref="MaxUnauthenticatedFrame"/> and an idle
/// timer closes it.
/// </para>
/// </remarks>
internal sealed class TcpConnection : PacketPath, IDisposable
{
    /// <summary>Largest frame before the first valid check: a STUN binding request is a few hundred bytes (RFC 8445 §7.1.1).</summary>
    public const int MaxUnauthenticatedFrame = 2048;

    /// <summary>The send queue's first size: a few packets. It doubles under backpressure up to its limit.</summary>
    private const int InitialQueueBytes = 4096;

    private const int Pending = 0;
    private const int Authenticated = 1;
    private const int IdleClosed = 2;

    /// <summary>Kernel send buffer (Linux doubles it): with the queue it bounds what a stalled subscriber holds.</summary>
    private const int SocketSendBufferBytes = 128 * 1024;

    private readonly Socket _socket;
    private readonly TimeProvider _time;
    private readonly int _maxQueuedBytes;
    private readonly TimeSpan _stallTimeout;
    private readonly Lock _sendLock = new();
    private readonly WriterSignal _wakeWriter = new();
    private byte[]? _queue;
    private int _head;
    private int _count;
    private bool _writing;
    private Task? _writer;
    private bool _full;
    private long _fullSince;
    private ITimer? _idleTimer;
    private int _admission; // Pending, then Authenticated or IdleClosed, whichever comes first
    private volatile bool _closed;

    public TcpConnection(Socket socket, long id, TimeProvider time, int maxQueuedBytes, TimeSpan stallTimeout)
        : base(RemoteKey.ForTcpConnection(id, (IPEndPoint)socket.RemoteEndPoint!))
    {
        Id = id;
        _socket = socket;
        _time = time;
        _maxQueuedBytes = Math.Max(maxQueuedBytes, InitialQueueBytes);
        _stallTimeout = stallTimeout;
        _socket.NoDelay = true;
        _socket.SendBufferSize = SocketSendBufferBytes;

        // Synchronous sends (the caller's fast path) return WouldBlock instead of waiting for the peer to read.
        _socket.Blocking = false;
        Framer.MaxFrameLength = MaxUnauthenticatedFrame;
    }

    public long Id { get; }

    public Socket Socket => _socket;

    /// <summary>Reassembles the frames this connection receives (used by the read loop only).</summary>
    public Rfc4571Framer Framer { get; } = new();

    public override bool IsOpen => !_closed;

    /// <summary>True once an authenticated STUN check bound this connection to a transport.</summary>
    public bool IsAuthenticated => Volatile.Read(ref _admission) == Authenticated;

    /// <summary>Bytes waiting for the socket.</summary>
    public int QueuedBytes
    {
        get
        {
            lock (_sendLock)
            {
                return _count;
            }
        }
    }

    /// <summary>Bytes of buffers this connection holds (send queue and reassembly storage), for tests and diagnostics.</summary>
    public int BufferBytes => (Volatile.Read(ref _queue)?.Length ?? 0) + Framer.StorageBytes;

    /// <summary>Closes the connection unless a valid STUN check authenticated it within <paramref name="timeout"/>.</summary>
    public void StartIdleTimer(TimeSpan timeout) =>
        _idleTimer = _time.CreateTimer(static s => ((TcpConnection)s!).OnIdleTimeout(), this, timeout, Timeout.InfiniteTimeSpan);

    /// <summary>An authenticated STUN check bound this connection to a transport: no idle timeout, full-size frames.</summary>
    public void MarkAuthenticated()
    {
        if (Interlocked.CompareExchange(ref _admission, Authenticated, Pending) != Pending)
        {
            return;
        }

        Framer.MaxFrameLength = Rfc4571Framer.MaxFrame;
        _idleTimer?.Dispose();
    }

    /// <summary>
    /// Queues one framed packet and returns at once. False (counted) when the connection is closed, or when its queue is
    /// full: then the packet is dropped, and a queue full for longer than the stall timeout closes the connection.
    /// </summary>
    public override bool Send(ReadOnlySpan<byte> packet)
    {
        if (_closed || packet.IsEmpty || packet.Length > Rfc4571Framer.MaxFrame)
        {
            RelayMetrics.DroppedSendFailed.Inc();
            return false;
        }

        var outcome = SendOutcome.Queued;
        lock (_sendLock)
        {
            if (_closed)
            {
                outcome = SendOutcome.Failed;
            }
            else if (_count + packet.Length + 2 > _maxQueuedBytes)
            {
                outcome = QueueFull() ? SendOutcome.Stalled : SendOutcome.Full;
            }
            else
            {
                Append(packet);
                if (!_writing)
                {
                    // Nothing in flight: give the kernel what it takes now; the writer waits for room for the rest.
                    if (!TrySendQueued())
                    {
                        outcome = SendOutcome.Failed;
                    }
                    else if (_count > 0)
                    {
                        _writing = true;
                        outcome = SendOutcome.WakeWriter;
                    }
                }
            }
        }

        switch (outcome)
        {
            case SendOutcome.Queued:
                CountSent(packet);
                return true;
            case SendOutcome.WakeWriter:
                CountSent(packet);
                _writer ??= WriteAsync();
                _wakeWriter.Set();
                return true;
            case SendOutcome.Full:
                RelayMetrics.DroppedTcpQueueFull.Inc();
                return false;
            case SendOutcome.Stalled:
                RelayMetrics.DroppedTcpQueueFull.Inc();
                RelayMetrics.TcpClosedStalled.Inc();
                Dispose();
                return false;
            default:
                RelayMetrics.DroppedSendFailed.Inc();
                Dispose();
                return false;
        }
    }

    private static void CountSent(ReadOnlySpan<byte> packet) =>
        (Demultiplexer.Classify(packet) == PacketClass.Stun ? RelayMetrics.TcpStunSent : RelayMetrics.TcpMediaSent).Inc();

    public void Dispose()
    {
        bool wake;
        lock (_sendLock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            wake = _writer is not null && !_writing;
            _writing = true;
        }

        _idleTimer?.Dispose();
        if (wake)
        {
            _wakeWriter.Set();
        }

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

    /// <summary>Notes that the queue is full (under the send lock); true once it has been full for the stall timeout.</summary>
    private bool QueueFull()
    {
        var now = _time.GetTimestamp();
        if (!_full)
        {
            _full = true;
            _fullSince = now;
            return false;
        }

        return _time.GetElapsedTime(_fullSince, now) >= _stallTimeout;
    }

    private void OnIdleTimeout()
    {
        if (Interlocked.CompareExchange(ref _admission, IdleClosed, Pending) == Pending && !_closed)
        {
            RelayMetrics.TcpClosedIdle.Inc();
            Dispose();
        }
    }

    /// <summary>Copies the length prefix and the packet to the tail of the ring (under the send lock).</summary>
    private void Append(ReadOnlySpan<byte> packet)
    {
        var frame = packet.Length + 2;
        EnsureCapacity(_count + frame);
        if (_count == 0)
        {
            _head = 0;
        }

        Span<byte> prefix = [(byte)(packet.Length >> 8), (byte)packet.Length];
        CopyToTail(prefix);
        CopyToTail(packet);
    }

    private void CopyToTail(ReadOnlySpan<byte> bytes)
    {
        var queue = _queue!;
        var tail = (_head + _count) % queue.Length;
        var first = Math.Min(bytes.Length, queue.Length - tail);
        bytes[..first].CopyTo(queue.AsSpan(tail));
        bytes[first..].CopyTo(queue);
        _count += bytes.Length;
    }

    /// <summary>
    /// Grows the ring into a new array (the old one may still be read by a send in flight, so it is never reused),
    /// its content laid out from index 0.
    /// </summary>
    private void EnsureCapacity(int needed)
    {
        var queue = _queue;
        if (queue is not null && queue.Length >= needed)
        {
            return;
        }

        var size = queue?.Length ?? InitialQueueBytes;
        while (size < needed)
        {
            size *= 2;
        }

        var grown = new byte[Math.Min(size, Math.Max(needed, _maxQueuedBytes))];
        if (queue is not null && _count > 0)
        {
            var first = Math.Min(_count, queue.Length - _head);
            queue.AsSpan(_head, first).CopyTo(grown);
            queue.AsSpan(0, _count - first).CopyTo(grown.AsSpan(first));
        }

        _head = 0;
        Volatile.Write(ref _queue, grown);
    }

    private void Consume(int sent)
    {
        _head = (_head + sent) % _queue!.Length;
        _count -= sent;
        if (_full && _count <= _maxQueuedBytes / 2)
        {
            _full = false;
        }
    }

    /// <summary>Non-blocking sends of what is queued, under the send lock; false when the connection failed.</summary>
    private bool TrySendQueued()
    {
        try
        {
            while (_count > 0)
            {
                var length = Math.Min(_count, _queue!.Length - _head);
                var sent = _socket.Send(_queue.AsSpan(_head, length), SocketFlags.None, out var error);
                if (error == SocketError.WouldBlock || (error == SocketError.Success && sent <= 0))
                {
                    return true;
                }

                if (error != SocketError.Success)
                {
                    return false;
                }

                Consume(sent);
            }

            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>The connection's writer: drains the queue whenever the caller's non-blocking send left bytes behind.</summary>
    private async Task WriteAsync()
    {
        try
        {
            while (true)
            {
                await _wakeWriter.WaitAsync().ConfigureAwait(false);
                while (true)
                {
                    ReadOnlyMemory<byte> segment;
                    lock (_sendLock)
                    {
                        if (_closed)
                        {
                            return;
                        }

                        if (_count == 0)
                        {
                            _writing = false;
                            _wakeWriter.Reset();
                            break;
                        }

                        segment = _queue.AsMemory(_head, Math.Min(_count, _queue!.Length - _head));
                    }

                    var sent = await _socket.SendAsync(segment, SocketFlags.None).ConfigureAwait(false);
                    lock (_sendLock)
                    {
                        Consume(sent);
                    }
                }
            }
        }
        catch (SocketException)
        {
            Dispose();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private enum SendOutcome
    {
        Queued,
        WakeWriter,
        Full,
        Stalled,
        Failed,
    }

    /// <summary>
    /// Wakes the writer without allocating: one waiter (the writer), set by whoever hands it work. Set is called once
    /// per wait (the <c>_writing</c> flag, flipped under the send lock, guarantees it) and Reset after each.
    /// </summary>
    private sealed class WriterSignal : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

        public ValueTask WaitAsync() => new(this, _core.Version);

        public void Set() => _core.SetResult(true);

        public void Reset() => _core.Reset();

        void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
