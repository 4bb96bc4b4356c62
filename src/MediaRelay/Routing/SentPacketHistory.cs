namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// What a consumer needs to answer its subscriber's NACKs (RFC 4585 §6.2.1) for the packets it sent last: for each of
/// our sequence numbers, the publisher's original one and encoding (to find the packet in the producer's
/// <see cref="RetransmissionBuffer"/>) and the offsets it was rewritten with (to resend it exactly as first sent), and
/// whether a NACK already named it. A ring of <see cref="Size"/> slots by our sequence number: more than the producer's
/// buffer holds, so a packet still there is always found here. Not thread-safe: used under the consumer's lock, but for
/// <see cref="Contains"/>.
/// </summary>
internal sealed class SentPacketHistory
{
    /// <summary>Outgoing packets remembered: as many as <see cref="RetransmissionBuffer.MaxPackets"/>.</summary>
    public const int Size = 1024;

    private readonly Entry[] _entries = new Entry[Size];

    public SentPacketHistory()
    {
        for (var i = 0; i < _entries.Length; i++)
        {
            _entries[i].Sequence = -1;
        }
    }

    /// <summary>Records a packet sent with our sequence number <paramref name="sequence"/>, replacing the one 1024 before it.</summary>
    public void Remember(ushort sequence, ushort original, int encoding, uint timestampOffset, Vp8Offsets vp8)
    {
        ref var entry = ref _entries[sequence % Size];
        entry.Original = original;
        entry.Encoding = (byte)encoding;
        entry.TimestampOffset = timestampOffset;
        entry.Vp8 = vp8;
        entry.Nacked = false;
        Volatile.Write(ref entry.Sequence, sequence);
    }

    /// <summary>Whether we sent <paramref name="sequence"/> and still remember it. Safe without the consumer's lock.</summary>
    public bool Contains(ushort sequence) => Volatile.Read(ref _entries[sequence % Size].Sequence) == sequence;

    /// <summary>The packet we sent as <paramref name="sequence"/>; false when we did not, or it was overwritten since.</summary>
    public bool TryGet(ushort sequence, out SentPacket packet)
    {
        ref readonly var entry = ref _entries[sequence % Size];
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
        ref var entry = ref _entries[sequence % Size];
        if (entry.Sequence != sequence || entry.Nacked)
        {
            return false;
        }

        entry.Nacked = true;
        return true;
    }

    private struct Entry
    {
        public int Sequence;
        public ushort Original;
        public byte Encoding;
        public bool Nacked;
        public uint TimestampOffset;
        public Vp8Offsets Vp8;
    }
}

/// <summary>One packet a consumer sent: our sequence number, the publisher's and its encoding, and how it was rewritten.</summary>
internal readonly record struct SentPacket(ushort Sequence, ushort Original, int Encoding, uint TimestampOffset, Vp8Offsets Vp8);
