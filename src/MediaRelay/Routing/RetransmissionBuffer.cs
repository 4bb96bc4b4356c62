using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The last packets of one publisher stream, by their original sequence number, so a subscriber's NACK
/// (RFC 4585 §6.2.1) can be answered from the relay instead of travelling on to the publisher (whose repair
/// would reach every subscriber again). One per video encoding of a producer. It holds about the last second
/// (<see cref="MaxAge"/>): it starts with <see cref="InitialCapacity"/> slots and doubles, up to
/// <see cref="MaxCapacity"/>, whenever a packet younger than that would be overwritten, so a low-rate stream does not
/// hold memory that only a high-rate one needs. Its storage comes from <see cref="RetransmissionBlocks"/> and goes
/// back there when it grows or its stream ends (<see cref="Release"/>). Written on the publisher's receive thread,
/// read on subscribers' receive threads: one lock.
/// </summary>
internal sealed class RetransmissionBuffer
{
    /// <summary>32 slots (one block): half a second of 500 kbit/s video.</summary>
    public const int InitialCapacity = RetransmissionBlocks.SlotsPerBlock;

    /// <summary>1024 packets: a second of about 10 Mbit/s video.</summary>
    public const int MaxCapacity = 1024;

    public const int MaxPacketLength = 1500;

    /// <summary>Packets older than this are not resent: the receiver's jitter buffer has given up on them.</summary>
    private static readonly long MaxAge = Stopwatch.Frequency;

    private readonly Lock _lock = new();
    private readonly RetransmissionBlocks _blocks;
    private byte[][] _data;
    private int[] _length = new int[InitialCapacity];
    private int[] _sequence = NewSequences(InitialCapacity);
    private long[] _stored = new long[InitialCapacity];
    private bool _released;

    public RetransmissionBuffer(RetransmissionBlocks blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        _blocks = blocks;
        _data = Rent(blocks, InitialCapacity);
    }

    /// <summary>Slots now (grows with the stream's packet rate; 0 once released).</summary>
    public int Capacity
    {
        get
        {
            lock (_lock)
            {
                return _released ? 0 : _length.Length;
            }
        }
    }

    public void Store(ReadOnlySpan<byte> packet, ushort sequence, long now)
    {
        if (packet.Length > MaxPacketLength)
        {
            return;
        }

        byte[][]? outgrown = null;
        lock (_lock)
        {
            if (_released)
            {
                return;
            }

            var slot = sequence & (_length.Length - 1);
            var evicted = _sequence[slot];
            if (evicted >= 0 && evicted != sequence && now - _stored[slot] < MaxAge && _length.Length < MaxCapacity)
            {
                outgrown = Grow(now);
                slot = sequence & (_length.Length - 1);
            }

            packet.CopyTo(Slot(slot));
            _length[slot] = packet.Length;
            _sequence[slot] = sequence;
            _stored[slot] = now;
        }

        if (outgrown is not null)
        {
            Return(outgrown);
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

            var slot = sequence & (_length.Length - 1);
            if (_sequence[slot] != sequence || now - _stored[slot] > MaxAge || destination.Length < _length[slot])
            {
                return 0;
            }

            Slot(slot)[.._length[slot]].CopyTo(destination);
            return _length[slot];
        }
    }

    /// <summary>
    /// The stream is over (its producer closed): the storage goes back for the next buffer, and this one stores and
    /// returns nothing from now on. A repair racing with it finds nothing, as for a packet too old.
    /// </summary>
    public void Release()
    {
        byte[][] data;
        lock (_lock)
        {
            if (_released)
            {
                return;
            }

            _released = true;
            data = _data;
            _data = [];
        }

        Return(data);
    }

    private static byte[][] Rent(RetransmissionBlocks blocks, int capacity)
    {
        var data = new byte[capacity / RetransmissionBlocks.SlotsPerBlock][];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = blocks.Rent();
        }

        return data;
    }

    private static int[] NewSequences(int capacity)
    {
        var sequences = new int[capacity];
        Array.Fill(sequences, -1);
        return sequences;
    }

    private static Span<byte> Slot(byte[][] data, int slot) =>
        data[slot / RetransmissionBlocks.SlotsPerBlock].AsSpan(slot % RetransmissionBlocks.SlotsPerBlock * MaxPacketLength, MaxPacketLength);

    private Span<byte> Slot(int slot) => Slot(_data, slot);

    private void Return(byte[][] data)
    {
        foreach (var block in data)
        {
            _blocks.Return(block);
        }
    }

    /// <summary>Doubles the slots, keeping the packets still young enough to be asked for; returns the old storage.</summary>
    private byte[][] Grow(long now)
    {
        var capacity = _length.Length * 2;
        var oldData = _data;
        var oldLength = _length;
        var oldSequence = _sequence;
        var oldStored = _stored;
        _data = Rent(_blocks, capacity);
        _length = new int[capacity];
        _sequence = NewSequences(capacity);
        _stored = new long[capacity];
        for (var old = 0; old < oldLength.Length; old++)
        {
            if (oldSequence[old] < 0 || now - oldStored[old] > MaxAge)
            {
                continue;
            }

            var slot = oldSequence[old] & (capacity - 1);
            Slot(oldData, old)[..oldLength[old]].CopyTo(Slot(slot));
            _length[slot] = oldLength[old];
            _sequence[slot] = oldSequence[old];
            _stored[slot] = oldStored[old];
        }

        return oldData;
    }
}
