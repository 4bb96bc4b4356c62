namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// What a consumer needs to answer its subscriber's NACKs (RFC 4585 §6.2.1) for the packets it sent last: for each of
/// our sequence numbers, the publisher's original one and encoding (to find the packet in the producer's
/// <see cref="RetransmissionBuffer"/>) and the offsets it was rewritten with (to resend it exactly as first sent), and
/// whether a NACK already named it. A ring of slots by our sequence number that starts at <see cref="InitialSize"/> and
/// doubles, up to <see cref="MaxSize"/>, whenever a packet sent within the producer's buffer's
/// <see cref="RetransmissionBuffer.MaxAge"/> (a second) would lose its slot: it remembers
/// at least what the producer's buffer still holds (a second, at most <see cref="RetransmissionBuffer.MaxPackets"/>), so
/// a packet still there is always found here, and a stream of 60 packets a second keeps 128 slots (3 KiB), not 1024.
/// Not thread-safe: used under the consumer's lock, but for <see cref="Contains"/>.
/// </summary>
internal sealed class SentPacketHistory
{
    public const int InitialSize = 128;

    /// <summary>As many as <see cref="RetransmissionBuffer.MaxPackets"/>.</summary>
    public const int MaxSize = RetransmissionBuffer.MaxPackets;

    private Entry[] _entries = NewEntries(InitialSize);

    /// <summary>Slots now.</summary>
    public int Size => Volatile.Read(ref _entries).Length;

    /// <summary>
    /// Records a packet sent at <paramref name="now"/> (<see cref="RoutingClock"/> ticks) with our sequence number
    /// <paramref name="sequence"/>, in the slot of the one <see cref="Size"/> before it.
    /// </summary>
    public void Remember(ushort sequence, ushort original, int encoding, uint timestampOffset, Vp8Offsets vp8, long now)
    {
        ref readonly var evicted = ref _entries[sequence & (_entries.Length - 1)];
        if (evicted.Sequence >= 0 && evicted.Sequence != sequence && now - evicted.Sent <= RetransmissionBuffer.MaxAge && _entries.Length < MaxSize)
        {
            Grow(now);
        }

        ref var entry = ref _entries[sequence & (_entries.Length - 1)];
        entry.Original = original;
        entry.Encoding = (byte)encoding;
        entry.TimestampOffset = timestampOffset;
        entry.Vp8 = vp8;
        entry.Nacked = false;
        entry.Sent = now;
        Volatile.Write(ref entry.Sequence, sequence);
    }

    /// <summary>Whether we sent <paramref name="sequence"/> and still remember it. Safe without the consumer's lock.</summary>
    public bool Contains(ushort sequence)
    {
        var entries = Volatile.Read(ref _entries);
        return Volatile.Read(ref entries[sequence & (entries.Length - 1)].Sequence) == sequence;
    }

    /// <summary>The packet we sent as <paramref name="sequence"/>; false when we did not, or it was overwritten since.</summary>
    public bool TryGet(ushort sequence, out SentPacket packet)
    {
        ref readonly var entry = ref _entries[sequence & (_entries.Length - 1)];
        if (entry.Sequence != sequence)
        {
            packet = default;
            return false;
        }

        packet = new SentPacket(sequence, entry.Original, entry.Encoding, entry.TimestampOffset, entry.Vp8);
        return true;
    }

    /// <summary>Marks <paramref name="sequence"/> as NACKed; true the first time only (a subscriber repeats its NACKs until the repair arrives).</summary>
    public bool MarkNacked(ushort sequence)
    {
        ref var entry = ref _entries[sequence & (_entries.Length - 1)];
        if (entry.Sequence != sequence || entry.Nacked)
        {
            return false;
        }

        entry.Nacked = true;
        return true;
    }

    private static Entry[] NewEntries(int size)
    {
        var entries = new Entry[size];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i].Sequence = -1;
        }

        return entries;
    }

    /// <summary>Doubles the slots, keeping what was sent within the last second; published whole, for <see cref="Contains"/>.</summary>
    private void Grow(long now)
    {
        var old = _entries;
        var grown = NewEntries(old.Length * 2);
        foreach (var entry in old)
        {
            if (entry.Sequence >= 0 && now - entry.Sent <= RetransmissionBuffer.MaxAge)
            {
                grown[entry.Sequence & (grown.Length - 1)] = entry;
            }
        }

        Volatile.Write(ref _entries, grown);
    }

    private struct Entry
    {
        public int Sequence;
        public ushort Original;
        public byte Encoding;
        public bool Nacked;
        public uint TimestampOffset;
        public Vp8Offsets Vp8;
        public long Sent;
    }
}

/// <summary>One packet a consumer sent: our sequence number, the publisher's and its encoding, and how it was rewritten.</summary>
internal readonly record struct SentPacket(ushort Sequence, ushort Original, int Encoding, uint TimestampOffset, Vp8Offsets Vp8);
