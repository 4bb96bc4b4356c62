using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The last packets of one publisher stream, by their original sequence number, so a subscriber's NACK
/// (RFC 4585 §6.2.1) can be answered from the relay instead of travelling on to the publisher (whose repair
/// would reach every subscriber again). One per video encoding of a producer. It holds about the last second
/// (<see cref="MaxAge"/>): it starts with <see cref="InitialCapacity"/> slots — two seconds of 500 kbit/s video —
/// and doubles, up to <see cref="MaxCapacity"/>, whenever a packet younger than that would be overwritten, so a
/// low-rate stream does not hold memory that only a high-rate one needs. Written on the publisher's receive thread,
/// read on subscribers' receive threads: one lock.
/// </summary>
internal sealed class RetransmissionBuffer
{
    public const int InitialCapacity = 128;

    /// <summary>1024 packets: a second of about 10 Mbit/s video.</summary>
    public const int MaxCapacity = 1024;

    public const int MaxPacketLength = 1500;

    /// <summary>Packets older than this are not resent: the receiver's jitter buffer has given up on them.</summary>
    private static readonly long MaxAge = Stopwatch.Frequency;

    private readonly Lock _lock = new();
    private byte[] _data = new byte[InitialCapacity * MaxPacketLength];
    private int[] _length = new int[InitialCapacity];
    private int[] _sequence = NewSequences(InitialCapacity);
    private long[] _stored = new long[InitialCapacity];

    /// <summary>Slots now (grows with the stream's packet rate).</summary>
    public int Capacity
    {
        get
        {
            lock (_lock)
            {
                return _length.Length;
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
            var slot = sequence & (_length.Length - 1);
            var evicted = _sequence[slot];
            if (evicted >= 0 && evicted != sequence && now - _stored[slot] < MaxAge && _length.Length < MaxCapacity)
            {
                Grow(now);
                slot = sequence & (_length.Length - 1);
            }

            packet.CopyTo(_data.AsSpan(slot * MaxPacketLength));
            _length[slot] = packet.Length;
            _sequence[slot] = sequence;
            _stored[slot] = now;
        }
    }

    /// <summary>Copies the stored packet with this original sequence number; 0 when it is gone or too old.</summary>
    public int TryCopy(ushort sequence, Span<byte> destination, long now)
    {
        lock (_lock)
        {
            var slot = sequence & (_length.Length - 1);
            if (_sequence[slot] != sequence || now - _stored[slot] > MaxAge || destination.Length < _length[slot])
            {
                return 0;
            }

            _data.AsSpan(slot * MaxPacketLength, _length[slot]).CopyTo(destination);
            return _length[slot];
        }
    }

    private static int[] NewSequences(int capacity)
    {
        var sequences = new int[capacity];
        Array.Fill(sequences, -1);
        return sequences;
    }

    /// <summary>Doubles the slots, keeping the packets still young enough to be asked for.</summary>
    private void Grow(long now)
    {
        var capacity = _length.Length * 2;
        var data = new byte[capacity * MaxPacketLength];
        var length = new int[capacity];
        var sequence = NewSequences(capacity);
        var stored = new long[capacity];
        for (var old = 0; old < _length.Length; old++)
        {
            if (_sequence[old] < 0 || now - _stored[old] > MaxAge)
            {
                continue;
            }

            var slot = _sequence[old] & (capacity - 1);
            _data.AsSpan(old * MaxPacketLength, _length[old]).CopyTo(data.AsSpan(slot * MaxPacketLength));
            length[slot] = _length[old];
            sequence[slot] = _sequence[old];
            stored[slot] = _stored[old];
        }

        _data = data;
        _length = length;
        _sequence = sequence;
        _stored = stored;
    }
}
