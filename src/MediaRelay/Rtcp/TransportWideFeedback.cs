using System.Buffers;
using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// Transport-wide congestion control feedback, PT 205 FMT 15 (draft-holmer-rmcat-transport-wide-cc-extensions-01
/// §3.1): base sequence, packet status count, 24-bit reference time in 64 ms units, feedback packet count, then
/// packet status chunks and receive deltas in 250 µs units. <see cref="TryRead"/> walks the chunks and deltas
/// once, so <see cref="Statuses"/> can then decode without further checks failing midway.
/// </summary>
internal readonly ref struct TransportWideFeedback
{
    public const int DeltaUnitMicroseconds = 250;
    public const int ReferenceTimeUnitMicroseconds = 64_000;
    private const int FixedFciLength = 8;
    private const int MaxRunLength = 0x1FFF;

    private TransportWideFeedback(uint senderSsrc, uint mediaSsrc, ReadOnlySpan<byte> fci, int deltasOffset)
    {
        SenderSsrc = senderSsrc;
        MediaSsrc = mediaSsrc;
        Fci = fci;
        DeltasOffset = deltasOffset;
    }

    public uint SenderSsrc { get; }

    public uint MediaSsrc { get; }

    public ReadOnlySpan<byte> Fci { get; }

    internal int DeltasOffset { get; }

    public ushort BaseSequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(Fci);

    public int PacketStatusCount => BinaryPrimitives.ReadUInt16BigEndian(Fci[2..]);

    /// <summary>Signed 24-bit reference time in multiples of 64 ms.</summary>
    public int ReferenceTime => ((Fci[4] << 24) | (Fci[5] << 16) | (Fci[6] << 8)) >> 8;

    public long ReferenceTimeMicroseconds => (long)ReferenceTime * ReferenceTimeUnitMicroseconds;

    public byte FeedbackPacketCount => Fci[7];

    public TransportWideStatusEnumerator Statuses => new(Fci, DeltasOffset, ReferenceTimeMicroseconds);

    public static bool TryRead(ReadOnlySpan<byte> packet, out TransportWideFeedback feedback)
    {
        feedback = default;
        if (!RtcpFeedbackHeader.TryRead(packet, RtcpPacketType.TransportFeedback, RtcpPacketType.FmtTransportWideFeedback, out uint sender, out uint media, out ReadOnlySpan<byte> fci)
            || fci.Length < FixedFciLength)
        {
            return false;
        }

        int statusCount = BinaryPrimitives.ReadUInt16BigEndian(fci[2..]);
        int offset = FixedFciLength;
        int seen = 0;
        int deltaBytes = 0;
        while (seen < statusCount)
        {
            if (offset + 2 > fci.Length)
            {
                return false;
            }

            ushort chunk = BinaryPrimitives.ReadUInt16BigEndian(fci[offset..]);
            offset += 2;
            int capacity = ChunkCapacity(chunk);
            int take = Math.Min(capacity, statusCount - seen);
            for (int i = 0; i < take; i++)
            {
                int symbol = ChunkSymbol(chunk, i);
                if (symbol == 3)
                {
                    // Reserved status: the deltas that follow cannot be located.
                    return false;
                }

                deltaBytes += symbol;
            }

            seen += take;
        }

        if (offset + deltaBytes > fci.Length)
        {
            return false;
        }

        feedback = new TransportWideFeedback(sender, media, fci, offset);
        return true;
    }

    /// <summary>Packets covered by a chunk (§3.1.3, §3.1.4): a run length, 14 one-bit or 7 two-bit symbols.</summary>
    internal static int ChunkCapacity(ushort chunk) =>
        (chunk & 0x8000) == 0 ? chunk & MaxRunLength : (chunk & 0x4000) == 0 ? 14 : 7;

    /// <summary>
    /// Status symbol of packet <paramref name="index"/> of a chunk: 0 not received, 1 received with a small
    /// (1-byte) delta, 2 received with a large (2-byte) delta, 3 reserved. A 1-bit vector only knows 0 and 1.
    /// </summary>
    internal static int ChunkSymbol(ushort chunk, int index) =>
        (chunk & 0x8000) == 0
            ? (chunk >> 13) & 0x03
            : (chunk & 0x4000) == 0
                ? (chunk >> (13 - index)) & 0x01
                : (chunk >> (12 - (2 * index))) & 0x03;

    /// <summary>
    /// Builds feedback for the received packets in <paramref name="arrivals"/>, ordered by transport sequence
    /// (modulo 2^16), the first being the base sequence; gaps are reported as not received. The reference time
    /// is the first arrival rounded down to 64 ms; deltas are rounded to 250 µs and accumulated from the rounded
    /// values so errors do not add up. A delta beyond ±8.19 s is clamped, which only happens after a stall.
    /// </summary>
    public static int Write(Span<byte> destination, uint senderSsrc, uint mediaSsrc, byte feedbackPacketCount, ReadOnlySpan<TransportWideArrival> arrivals)
    {
        if (arrivals.IsEmpty)
        {
            throw new ArgumentException("Feedback needs at least one received packet.", nameof(arrivals));
        }

        ushort baseSequence = arrivals[0].SequenceNumber;
        int statusCount = (ushort)(arrivals[^1].SequenceNumber - baseSequence) + 1;
        long referenceTime = FloorDiv(arrivals[0].ArrivalMicroseconds, ReferenceTimeUnitMicroseconds);
        byte[] symbols = ArrayPool<byte>.Shared.Rent(statusCount);
        short[] deltas = ArrayPool<short>.Shared.Rent(arrivals.Length);
        try
        {
            Array.Clear(symbols, 0, statusCount);
            long previous = referenceTime * ReferenceTimeUnitMicroseconds;
            int deltaBytes = 0;
            int lastIndex = -1;
            for (int i = 0; i < arrivals.Length; i++)
            {
                int index = (ushort)(arrivals[i].SequenceNumber - baseSequence);
                if (index <= lastIndex)
                {
                    // One status per sequence number: a repeat or reordering would desynchronise statuses and deltas.
                    throw new ArgumentException("Arrivals must have strictly increasing sequence numbers.", nameof(arrivals));
                }

                lastIndex = index;
                long ticks = (long)Math.Round((arrivals[i].ArrivalMicroseconds - previous) / (double)DeltaUnitMicroseconds, MidpointRounding.AwayFromZero);
                ticks = Math.Clamp(ticks, short.MinValue, short.MaxValue);
                previous += ticks * DeltaUnitMicroseconds;
                deltas[i] = (short)ticks;
                byte symbol = ticks is >= 0 and <= 255 ? (byte)1 : (byte)2;
                symbols[index] = symbol;
                deltaBytes += symbol;
            }

            int chunkBytes = 2 * CountChunks(symbols.AsSpan(0, statusCount));
            int unpadded = RtcpFeedbackHeader.Length + FixedFciLength + chunkBytes + deltaBytes;
            int length = (unpadded + 3) & ~3;
            int padding = length - unpadded;
            RtcpHeader.EnsureCapacity(destination, length);
            // RFC 3550 §6.4.1 padding: the last byte says how many bytes to strip before reading the deltas.
            RtcpFeedbackHeader.Write(destination, RtcpPacketType.TransportFeedback, RtcpPacketType.FmtTransportWideFeedback, length, senderSsrc, mediaSsrc, padding != 0);
            Span<byte> fci = destination[RtcpFeedbackHeader.Length..length];
            BinaryPrimitives.WriteUInt16BigEndian(fci, baseSequence);
            BinaryPrimitives.WriteUInt16BigEndian(fci[2..], (ushort)statusCount);
            int reference = (int)(referenceTime & 0xFFFFFF);
            fci[4] = (byte)(reference >> 16);
            fci[5] = (byte)(reference >> 8);
            fci[6] = (byte)reference;
            fci[7] = feedbackPacketCount;
            int offset = FixedFciLength + WriteChunks(fci[FixedFciLength..], symbols.AsSpan(0, statusCount));
            for (int i = 0; i < arrivals.Length; i++)
            {
                if (deltas[i] is >= 0 and <= 255)
                {
                    fci[offset++] = (byte)deltas[i];
                }
                else
                {
                    BinaryPrimitives.WriteInt16BigEndian(fci[offset..], deltas[i]);
                    offset += 2;
                }
            }

            fci[offset..].Clear();
            if (padding != 0)
            {
                destination[length - 1] = (byte)padding;
            }

            return length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(symbols);
            ArrayPool<short>.Shared.Return(deltas);
        }
    }

    private static long FloorDiv(long value, long divisor) =>
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor);

    private static int CountChunks(ReadOnlySpan<byte> symbols)
    {
        int chunks = 0;
        int i = 0;
        while (i < symbols.Length)
        {
            i += NextChunk(symbols, i, out _);
            chunks++;
        }

        return chunks;
    }

    private static int WriteChunks(Span<byte> destination, ReadOnlySpan<byte> symbols)
    {
        int offset = 0;
        int i = 0;
        while (i < symbols.Length)
        {
            int covered = NextChunk(symbols, i, out ushort chunk);
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], chunk);
            offset += 2;
            i += covered;
        }

        return offset;
    }

    /// <summary>
    /// Greedy choice of the next chunk: a run-length chunk for long runs (or the tail), a 1-bit vector when the
    /// next 14 symbols need no large delta, otherwise a 2-bit vector (or a run of at least 7).
    /// </summary>
    private static int NextChunk(ReadOnlySpan<byte> symbols, int start, out ushort chunk)
    {
        int remaining = symbols.Length - start;
        int run = 1;
        while (run < remaining && run < MaxRunLength && symbols[start + run] == symbols[start])
        {
            run++;
        }

        if (run >= 14 || run == remaining)
        {
            chunk = (ushort)((symbols[start] << 13) | run);
            return run;
        }

        int oneBit = Math.Min(14, remaining);
        bool small = true;
        for (int k = 0; k < oneBit; k++)
        {
            if (symbols[start + k] > 1)
            {
                small = false;
                break;
            }
        }

        if (small)
        {
            int value = 0x8000;
            for (int k = 0; k < oneBit; k++)
            {
                value |= symbols[start + k] << (13 - k);
            }

            chunk = (ushort)value;
            return oneBit;
        }

        if (run >= 7)
        {
            chunk = (ushort)((symbols[start] << 13) | run);
            return run;
        }

        int twoBit = Math.Min(7, remaining);
        int vector = 0xC000;
        for (int k = 0; k < twoBit; k++)
        {
            vector |= symbols[start + k] << (12 - (2 * k));
        }

        chunk = (ushort)vector;
        return twoBit;
    }
}
