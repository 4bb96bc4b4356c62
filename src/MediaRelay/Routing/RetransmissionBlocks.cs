namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The packet storage of every <see cref="RetransmissionBuffer"/> of a relay, in blocks of <see cref="BlockLength"/>
/// bytes, kept for the next stream when a stream ends.
/// </summary>
/// <remarks>
/// <para>
/// Without reuse, each ended stream's storage waits for a full collection, and a server where sessions come and go
/// all day holds far more than its live streams need, in a saw-tooth that follows the full collections. Storage in
/// one size fits every buffer whatever its rate, so what is kept is never more than the most the live streams have
/// needed at once. Blocks are 8 KiB: small enough that a stream holds little more than its second of packets, below
/// the large-object threshold.
/// </para>
/// <para>
/// Blocks nobody took during a whole <see cref="TrimInterval"/> are let go (<see cref="Trim"/>), so a server that had
/// a busy hour gives the memory back within two intervals of it.
/// </para>
/// <para>
/// A reused block still holds another stream's packets. A buffer reads only where its own index says it stored a
/// packet since it last began writing that block, and only that packet's length, so nothing of the earlier stream can
/// be read back.
/// </para>
/// </remarks>
internal sealed class RetransmissionBlocks
{
    public const int BlockLength = 8192;

    private readonly Lock _lock = new();
    private readonly Stack<byte[]> _kept = new();
    private int _inUse;
    private int _fewestKept;
    private long _lastTrim;
    private bool _trimStarted;

    /// <param name="trimInterval">In <see cref="RoutingClock"/> ticks; a minute when not given.</param>
    public RetransmissionBlocks(long? trimInterval = null)
    {
        TrimInterval = trimInterval ?? (60 * System.Diagnostics.Stopwatch.Frequency);
    }

    public long TrimInterval { get; }

    /// <summary>Blocks held by live buffers.</summary>
    public int InUse
    {
        get
        {
            lock (_lock)
            {
                return _inUse;
            }
        }
    }

    /// <summary>Blocks kept for reuse.</summary>
    public int Kept
    {
        get
        {
            lock (_lock)
            {
                return _kept.Count;
            }
        }
    }

    /// <summary>A kept block when there is one, else a new one.</summary>
    public byte[] Rent()
    {
        byte[]? block;
        lock (_lock)
        {
            _inUse++;
            if (_kept.TryPop(out block))
            {
                _fewestKept = Math.Min(_fewestKept, _kept.Count);
            }
        }

        RelayMetrics.RetransmissionStorageInUse.Inc(BlockLength);
        if (block is null)
        {
            return new byte[BlockLength];
        }

        RelayMetrics.RetransmissionStorageKept.Dec(BlockLength);
        return block;
    }

    /// <summary>Takes back a block from <see cref="Rent"/> for the next buffer.</summary>
    public void Return(byte[] block)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (block.Length != BlockLength)
        {
            throw new ArgumentException("Not a block of this storage.", nameof(block));
        }

        lock (_lock)
        {
            _inUse--;
            _kept.Push(block);
        }

        RelayMetrics.RetransmissionStorageInUse.Dec(BlockLength);
        RelayMetrics.RetransmissionStorageKept.Inc(BlockLength);
    }

    /// <summary>
    /// Called often (the relay's housekeeping, every second): once <see cref="TrimInterval"/> has passed since the last
    /// trim, lets go of as many blocks as stayed kept through all of it. Returns how many it let go.
    /// </summary>
    public int Trim(long now)
    {
        var released = 0;
        lock (_lock)
        {
            if (!_trimStarted)
            {
                _trimStarted = true;
                _lastTrim = now;
                _fewestKept = _kept.Count;
                return 0;
            }

            if (now - _lastTrim < TrimInterval)
            {
                return 0;
            }

            for (; released < _fewestKept && _kept.Count > 0; released++)
            {
                _kept.Pop();
            }

            _lastTrim = now;
            _fewestKept = _kept.Count;
        }

        RelayMetrics.RetransmissionStorageKept.Dec((double)released * BlockLength);
        return released;
    }
}
