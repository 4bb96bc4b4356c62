using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The last packets of one publisher stream, by their original sequence number, so a subscriber's NACK
/// (RFC 4585 §6.2.1) can be answered from the relay instead of travelling on to the publisher (whose repair
/// would reach every subscriber again). One per video encoding of a producer. It holds the packets of its
/// <see cref="Window"/> (a second at most, <see cref="MaxAge"/>; the producer sets it from its subscribers' round trips,
/// <see cref="RepairPolicy.StorageWindow"/>) and no more than that window's bytes need:
/// <list type="bullet">
/// <item>The packets are written one after another, each at its own length, into a ring of
/// <see cref="RetransmissionBlocks.BlockLength"/>-byte blocks; a packet that does not fit in what is left of a block
/// starts the next one. Before the ring comes round to a block that still holds a packet inside the window, a block
/// is added in front of it (up to <see cref="MaxBlocks"/>), so a stream holds about a window of its own bytes plus a
/// block, whatever its rate and packet sizes. When the ring comes round to two blocks in a row with nothing inside the
/// window (the stream slowed down, or the window shrank), the older of them goes back (never below
/// <see cref="InitialBlocks"/>).</item>
/// <item>An index of slots by sequence number says where each packet is. It starts with <see cref="InitialSlots"/> and
/// doubles, up to <see cref="MaxPackets"/>, whenever a packet inside the window would lose its slot.</item>
/// </list>
/// Entering a block for writing, or giving it back, starts a new generation of it; an index entry from an earlier
/// generation is gone, so a packet is never read from bytes written over since. Its storage comes from
/// <see cref="RetransmissionBlocks"/> and goes back there when it is not needed or its stream ends
/// (<see cref="Release"/>). Written on the publisher's receive thread, read on subscribers' receive threads: one lock.
/// </summary>
internal sealed class RetransmissionBuffer
{
    /// <summary>Two blocks to start with (16 KiB: a quarter of a second of 500 kbit/s video).</summary>
    public const int InitialBlocks = 2;

    /// <summary>160 blocks (1.25 MiB): a second of about 10 Mbit/s video.</summary>
    public const int MaxBlocks = 160;

    public const int InitialSlots = 32;

    /// <summary>1024 packets: a second of about 10 Mbit/s video.</summary>
    public const int MaxPackets = 1024;

    public const int MaxPacketLength = 1500;

    /// <summary>
    /// The longest <see cref="Window"/>, a second: packets older than this are never resent, the receiver's jitter buffer
    /// has given up on them.
    /// </summary>
    public static readonly long MaxAge = Stopwatch.Frequency;

    /// <summary>The newest-packet time of a block nothing was written to yet.</summary>
    private const long Never = long.MinValue;

    private readonly Lock _lock = new();
    private readonly RetransmissionBlocks _blocks;
    private Entry[] _index = NewIndex(InitialSlots);

    // The ring, by block number (block numbers never change; an added block takes the first number free). Numbers below
    // _slots are in use or free (Data null); _count are in use.
    private Block[] _ring = new Block[InitialBlocks];
    private int _slots;
    private int _count;
    private long _window;
    private int _block;
    private int _offset;
    private bool _released;

    /// <param name="blocks">Where the storage comes from.</param>
    /// <param name="window">How long a packet stays (<see cref="RoutingClock"/> ticks; <see cref="MaxAge"/> when not given).</param>
    public RetransmissionBuffer(RetransmissionBlocks blocks, long? window = null)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        _blocks = blocks;
        _window = ClampWindow(window ?? MaxAge);
        for (var i = 0; i < InitialBlocks; i++)
        {
            _ring[i] = new Block { Data = blocks.Rent(), Next = (i + 1) % InitialBlocks, Newest = Never };
        }

        _slots = _count = InitialBlocks;
        _ring[0].Generation = 1;
    }

    /// <summary>How long a stored packet can be asked for (<see cref="RoutingClock"/> ticks), at most <see cref="MaxAge"/>.</summary>
    public long Window
    {
        get
        {
            lock (_lock)
            {
                return _window;
            }
        }
    }

    /// <summary>
    /// A new <see cref="Window"/> (clamped to 1 tick … <see cref="MaxAge"/>). A shorter one makes older packets
    /// unavailable at once and gives their blocks back as the ring comes round to them; a longer one keeps what is
    /// still there longer, growing the ring as it fills.
    /// </summary>
    public void SetWindow(long window)
    {
        lock (_lock)
        {
            _window = ClampWindow(window);
        }
    }

    /// <summary>Index slots now (grows with the stream's packet rate; 0 once released).</summary>
    public int IndexSlots
    {
        get
        {
            lock (_lock)
            {
                return _released ? 0 : _index.Length;
            }
        }
    }

    /// <summary>Blocks held now (grows with the stream's byte rate; 0 once released).</summary>
    public int Blocks
    {
        get
        {
            lock (_lock)
            {
                return _released ? 0 : _count;
            }
        }
    }

    public void Store(ReadOnlySpan<byte> packet, ushort sequence, long now)
    {
        if (packet.Length > MaxPacketLength)
        {
            return;
        }

        lock (_lock)
        {
            if (_released)
            {
                return;
            }

            ref readonly var evicted = ref _index[sequence & (_index.Length - 1)];
            if (evicted.Sequence >= 0 && evicted.Sequence != sequence && IsYoung(evicted, now) && _index.Length < MaxPackets)
            {
                GrowIndex(now);
            }

            if (_offset + packet.Length > RetransmissionBlocks.BlockLength)
            {
                Advance(now);
            }

            ref var block = ref _ring[_block];
            packet.CopyTo(block.Data.AsSpan(_offset));
            _index[sequence & (_index.Length - 1)] = new Entry
            {
                Sequence = sequence,
                Block = (ushort)_block,
                Offset = (ushort)_offset,
                Length = (ushort)packet.Length,
                Generation = block.Generation,
                Stored = now,
            };
            _offset += packet.Length;
            block.Newest = now;
        }
    }

    /// <summary>Copies the stored packet with this original sequence number; 0 when it is gone or too old.</summary>
    public int TryCopy(ushort sequence, Span<byte> destination, long now)
    {
        lock (_lock)
        {
            if (_released)
            {
                return 0;
            }

            ref readonly var entry = ref _index[sequence & (_index.Length - 1)];
            if (entry.Sequence != sequence || !IsYoung(entry, now) || destination.Length < entry.Length)
            {
                return 0;
            }

            _ring[entry.Block].Data.AsSpan(entry.Offset, entry.Length).CopyTo(destination);
            return entry.Length;
        }
    }

    /// <summary>
    /// The stream is over (its producer closed): the storage goes back for the next buffer, and this one stores and
    /// returns nothing from now on. A repair racing with it finds nothing, as for a packet too old.
    /// </summary>
    public void Release()
    {
        Block[] ring;
        int slots;
        lock (_lock)
        {
            if (_released)
            {
                return;
            }

            _released = true;
            ring = _ring;
            slots = _slots;
            _ring = [];
            _slots = _count = 0;
        }

        for (var i = 0; i < slots; i++)
        {
            if (ring[i].Data is { } data)
            {
                _blocks.Return(data);
            }
        }
    }

    private static Entry[] NewIndex(int slots)
    {
        var index = new Entry[slots];
        for (var i = 0; i < index.Length; i++)
        {
            index[i].Sequence = -1;
        }

        return index;
    }

    private static long ClampWindow(long window) => Math.Clamp(window, 1, MaxAge);

    /// <summary>Still in its block as written and young enough that a subscriber may ask for it.</summary>
    private bool IsYoung(in Entry entry, long now) =>
        now - entry.Stored <= _window && _ring[entry.Block].Generation == entry.Generation;

    /// <summary>A block whose newest packet is still inside the window.</summary>
    private bool HoldsYoung(in Block block, long now) => block.Newest != Never && now - block.Newest <= _window;

    /// <summary>
    /// Moves writing to the next block round the ring. When the block after that one holds nothing inside the window
    /// either, the next one is not needed: it goes back and writing moves on (while more than <see cref="InitialBlocks"/>
    /// are held). When the next one still holds a packet inside the window, a block is added in front of it instead (while
    /// there are fewer than <see cref="MaxBlocks"/>).
    /// </summary>
    private void Advance(long now)
    {
        var next = _ring[_block].Next;
        while (_count > InitialBlocks)
        {
            var after = _ring[next].Next;
            if (after == _block || HoldsYoung(_ring[after], now))
            {
                break;
            }

            GiveBack(next);
            _ring[_block].Next = after;
            next = after;
        }

        if (HoldsYoung(_ring[next], now) && _count < MaxBlocks)
        {
            var added = TakeFreeSlot();
            ref var block = ref _ring[added];
            block.Data = _blocks.Rent();
            block.Next = next;
            block.Newest = Never;
            _ring[_block].Next = added;
            _count++;
            next = added;
        }

        _block = next;
        ref var entered = ref _ring[next];
        entered.Generation++;
        entered.Newest = Never;
        _offset = 0;
    }

    /// <summary>Returns a block's storage; its number is free for the next block added, its packets gone.</summary>
    private void GiveBack(int number)
    {
        ref var block = ref _ring[number];
        _blocks.Return(block.Data!);
        block.Data = null;
        block.Generation++;
        block.Newest = Never;
        _count--;
    }

    /// <summary>The first block number given back, else the next one never used (the ring grows by doubling).</summary>
    private int TakeFreeSlot()
    {
        for (var i = 0; i < _slots; i++)
        {
            if (_ring[i].Data is null)
            {
                return i;
            }
        }

        if (_slots == _ring.Length)
        {
            Array.Resize(ref _ring, Math.Min(_slots * 2, MaxBlocks));
        }

        return _slots++;
    }

    /// <summary>Doubles the index, keeping the entries of packets still young enough to be asked for.</summary>
    private void GrowIndex(long now)
    {
        var old = _index;
        _index = NewIndex(old.Length * 2);
        foreach (var entry in old)
        {
            if (entry.Sequence >= 0 && IsYoung(entry, now))
            {
                _index[entry.Sequence & (_index.Length - 1)] = entry;
            }
        }
    }

    /// <summary>
    /// One block of the ring: its storage, the next block round the ring, its generation (how often writing began
    /// there) and when its newest packet was stored.
    /// </summary>
    private struct Block
    {
        public byte[]? Data;
        public int Next;
        public int Generation;
        public long Newest;
    }

    /// <summary>Where one stored packet is: 24 bytes.</summary>
    private struct Entry
    {
        public int Sequence;
        public ushort Block;
        public ushort Offset;
        public ushort Length;
        public int Generation;
        public long Stored;
    }
}
