using System.Buffers;
using Org.BouncyCastle.Tls;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// The <see cref="DatagramTransport"/> BouncyCastle reads and writes: the socket demux enqueues incoming
/// DTLS datagrams (RFC 7983 first byte 20–63), BouncyCastle's thread takes them out with a timeout, and
/// sends go to a delegate of the transport layer. Bounded, so a flood cannot grow memory.
/// </summary>
internal sealed class DtlsDatagramQueue : DatagramTransport
{
    /// <summary>Largest datagram accepted; a path MTU is below this, so larger ones are not DTLS we expect.</summary>
    public const int ReceiveLimit = 2048;

    private readonly object _gate = new();
    private readonly Queue<(byte[] Buffer, int Length)> _queue;
    private readonly int _capacity;
    private readonly int _sendLimit;
    private readonly Action<ReadOnlySpan<byte>> _send;
    private bool _closed;

    public DtlsDatagramQueue(Action<ReadOnlySpan<byte>> send, int sendLimit, int capacity)
    {
        _send = send;
        _sendLimit = sendLimit;
        _capacity = capacity;
        _queue = new Queue<(byte[], int)>(capacity);
    }

    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>Queues a copy of an incoming datagram; false when closed, full or not a plausible size.</summary>
    public bool Enqueue(ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty || datagram.Length > ReceiveLimit)
        {
            return false;
        }

        lock (_gate)
        {
            if (_closed || _queue.Count >= _capacity)
            {
                return false;
            }

            byte[] copy = ArrayPool<byte>.Shared.Rent(datagram.Length);
            datagram.CopyTo(copy);
            _queue.Enqueue((copy, datagram.Length));
            Monitor.Pulse(_gate);
            return true;
        }
    }

    /// <summary>Datagrams waiting to be read.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    public int GetReceiveLimit() => ReceiveLimit;

    public int GetSendLimit() => _sendLimit;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    /// <summary>Blocks up to <paramref name="waitMillis"/>; −1 on timeout (BouncyCastle's contract), throws once closed.</summary>
    public int Receive(Span<byte> buffer, int waitMillis)
    {
        (byte[] Buffer, int Length) item;
        lock (_gate)
        {
            long deadline = Environment.TickCount64 + Math.Max(0, waitMillis);
            while (_queue.Count == 0)
            {
                // BouncyCastle turns an IOException into an aborted handshake or a closed DtlsTransport.
                if (_closed)
                {
                    throw new IOException("DTLS transport closed.");
                }

                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0)
                {
                    return -1;
                }

                Monitor.Wait(_gate, (int)remaining);
            }

            item = _queue.Dequeue();
        }

        int length = Math.Min(item.Length, buffer.Length);
        item.Buffer.AsSpan(0, length).CopyTo(buffer);
        ArrayPool<byte>.Shared.Return(item.Buffer);
        return length;
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (!IsClosed)
        {
            _send(buffer);
        }
    }

    /// <summary>Unblocks receivers (they throw) and drops queued datagrams.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            while (_queue.Count > 0)
            {
                ArrayPool<byte>.Shared.Return(_queue.Dequeue().Buffer);
            }

            Monitor.PulseAll(_gate);
        }
    }
}
