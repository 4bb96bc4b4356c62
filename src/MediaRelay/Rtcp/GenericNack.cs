using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// Generic NACK, PT 205 FMT 1 (RFC 4585 §6.2.1): FCI items of PID (a lost sequence number) and BLP (bit i set
/// means PID+i+1 is lost too).
/// </summary>
internal readonly ref struct GenericNack
{
    private const int ItemLength = 4;

    private GenericNack(uint senderSsrc, uint mediaSsrc, ReadOnlySpan<byte> fci)
    {
        SenderSsrc = senderSsrc;
        MediaSsrc = mediaSsrc;
        Fci = fci;
    }

    public uint SenderSsrc { get; }

    public uint MediaSsrc { get; }

    public ReadOnlySpan<byte> Fci { get; }

    public int ItemCount => Fci.Length / ItemLength;

    public LostSequenceEnumerator LostSequenceNumbers => new(Fci);

    public static bool TryRead(ReadOnlySpan<byte> packet, out GenericNack nack)
    {
        nack = default;
        if (!RtcpFeedbackHeader.TryRead(packet, RtcpPacketType.TransportFeedback, RtcpPacketType.FmtGenericNack, out uint sender, out uint media, out ReadOnlySpan<byte> fci)
            || fci.Length < ItemLength)
        {
            return false;
        }

        nack = new GenericNack(sender, media, fci[..(fci.Length / ItemLength * ItemLength)]);
        return true;
    }

    /// <summary>Length of the packet <see cref="Write"/> produces for these sequence numbers.</summary>
    public static int GetLength(ReadOnlySpan<ushort> lost) => RtcpFeedbackHeader.Length + (ItemLength * CountItems(lost));

    /// <summary>
    /// Packs the sequence numbers, in the order given, into PID|BLP items: each number within 1-16 after the
    /// current PID (modulo 2^16) sets a BLP bit, any other starts a new item.
    /// </summary>
    public static int Write(Span<byte> destination, uint senderSsrc, uint mediaSsrc, ReadOnlySpan<ushort> lost)
    {
        if (lost.IsEmpty)
        {
            throw new ArgumentException("A NACK needs at least one sequence number.", nameof(lost));
        }

        int length = GetLength(lost);
        RtcpHeader.EnsureCapacity(destination, length);
        RtcpFeedbackHeader.Write(destination, RtcpPacketType.TransportFeedback, RtcpPacketType.FmtGenericNack, length, senderSsrc, mediaSsrc);
        int offset = RtcpFeedbackHeader.Length;
        ushort pid = lost[0];
        ushort blp = 0;
        for (int i = 1; i < lost.Length; i++)
        {
            int distance = (ushort)(lost[i] - pid);
            if (distance == 0)
            {
                continue;
            }

            if (distance <= 16)
            {
                blp |= (ushort)(1 << (distance - 1));
                continue;
            }

            WriteItem(destination[offset..], pid, blp);
            offset += ItemLength;
            pid = lost[i];
            blp = 0;
        }

        WriteItem(destination[offset..], pid, blp);
        return length;
    }

    private static int CountItems(ReadOnlySpan<ushort> lost)
    {
        if (lost.IsEmpty)
        {
            return 0;
        }

        int items = 1;
        ushort pid = lost[0];
        for (int i = 1; i < lost.Length; i++)
        {
            int distance = (ushort)(lost[i] - pid);
            if (distance > 16)
            {
                items++;
                pid = lost[i];
            }
        }

        return items;
    }

    private static void WriteItem(Span<byte> destination, ushort pid, ushort blp)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, pid);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], blp);
    }
}
