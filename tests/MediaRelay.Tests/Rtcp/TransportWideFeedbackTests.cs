using Teletherapy.MediaRelay.Rtcp;

namespace Teletherapy.MediaRelay.Tests.Rtcp;

public class TransportWideFeedbackTests
{
    private static List<TransportWidePacketStatus> Decode(ReadOnlySpan<byte> packet)
    {
        Assert.True(TransportWideFeedback.TryRead(packet, out TransportWideFeedback feedback));
        var statuses = new List<TransportWidePacketStatus>();
        foreach (TransportWidePacketStatus status in feedback.Statuses)
        {
            statuses.Add(status);
        }

        Assert.Equal(feedback.PacketStatusCount, statuses.Count);
        return statuses;
    }

    [Fact]
    public void DecodesRunLengthAndVectorChunksWithSmallAndLargeDeltas()
    {
        // base 10, count 6, reference time 1 (64 ms), fb count 3.
        // Chunk 1: run-length, symbol 1 (small delta), run 2 -> 0x2002.
        // Chunk 2: 2-bit vector: 0 (not received), 2 (large), 1 (small), 0, rest 0 -> 11 00 10 01 00 00 00 00 = 0xC900.
        // Deltas: 0x04 (1 ms), 0x08 (2 ms), large -0x0004 (-1 ms), 0x01 (0.25 ms); then 1 byte padding.
        byte[] packet = Hex.Parse("""
            AF CD 00 07 00 00 00 01 00 00 00 02
            00 0A 00 06 00 00 01 03
            20 02 C9 00
            04 08 FF FC 01 00 00 01
            """);
        Assert.True(TransportWideFeedback.TryRead(packet, out TransportWideFeedback feedback));
        Assert.Equal(10, feedback.BaseSequenceNumber);
        Assert.Equal(6, feedback.PacketStatusCount);
        Assert.Equal(1, feedback.ReferenceTime);
        Assert.Equal(3, feedback.FeedbackPacketCount);

        List<TransportWidePacketStatus> statuses = Decode(packet);
        Assert.Equal(
            [
                new(10, true, 1000, 65_000),
                new(11, true, 2000, 67_000),
                new(12, false, 0, 0),
                new(13, true, -1000, 66_000),
                new(14, true, 250, 66_250),
                new(15, false, 0, 0),
            ],
            statuses);
    }

    [Fact]
    public void DecodesOneBitVector()
    {
        // base 0, count 14: chunk 0xAAAA is a 1-bit vector (10) whose symbols 1,0,1,0,... mark even indexes received.
        byte[] packet = Hex.Parse("""
            8F CD 00 07 00 00 00 01 00 00 00 02
            00 00 00 0E FF FF FF 00
            AA AA 01 01 01 01 01 01
            01 00 00 00
            """);
        List<TransportWidePacketStatus> statuses = Decode(packet);
        Assert.Equal(14, statuses.Count);
        for (int i = 0; i < 14; i++)
        {
            Assert.Equal(i % 2 == 0, statuses[i].Received);
        }

        Assert.True(TransportWideFeedback.TryRead(packet, out TransportWideFeedback feedback));
        Assert.Equal(-1, feedback.ReferenceTime); // 24-bit signed
    }

    [Fact]
    public void RejectsMissingDeltas()
    {
        byte[] packet = Hex.Parse("""
            8F CD 00 05 00 00 00 01 00 00 00 02
            00 0A 00 03 00 00 01 03
            20 03 04 08
            """);
        Assert.False(TransportWideFeedback.TryRead(packet, out _));
    }

    [Fact]
    public void RejectsReservedSymbol()
    {
        byte[] packet = Hex.Parse("""
            8F CD 00 05 00 00 00 01 00 00 00 02
            00 0A 00 01 00 00 01 03
            60 01 00 00
            """);
        Assert.False(TransportWideFeedback.TryRead(packet, out _));
    }

    [Fact]
    public void Writer_RoundTripsArrivalsWithGapsAndLargeDeltas()
    {
        long start = 1_000_000_000; // arbitrary clock origin
        TransportWideArrival[] arrivals =
        [
            new(65534, start),
            new(65535, start + 1_000),
            new(2, start + 5_000), // 0 and 1 lost, wraps
            new(3, start + 3_000), // arrives "earlier": negative delta, large
            new(4, start + 90_000), // > 63.75 ms: large
            new(40, start + 90_250), // long gap: run of not received
        ];
        byte[] buffer = new byte[512];
        int length = TransportWideFeedback.Write(buffer, 1, 2, 9, arrivals);
        Assert.Equal(0, length % 4);

        List<TransportWidePacketStatus> statuses = Decode(buffer.AsSpan(0, length));
        Assert.Equal(43, statuses.Count); // 65534, 65535, 0 .. 40
        Assert.True(TransportWideFeedback.TryRead(buffer.AsSpan(0, length), out TransportWideFeedback feedback));
        Assert.Equal(65534, feedback.BaseSequenceNumber);
        Assert.Equal(9, feedback.FeedbackPacketCount);
        var received = statuses.Where(s => s.Received).ToList();
        Assert.Equal(arrivals.Select(a => a.SequenceNumber), received.Select(s => s.SequenceNumber));
        // The start is a multiple of 64 ms and every arrival a multiple of 250 µs, so times come back exactly.
        Assert.Equal(start, feedback.ReferenceTimeMicroseconds);
        Assert.Equal(arrivals.Select(a => a.ArrivalMicroseconds), received.Select(s => s.ArrivalMicroseconds));
        Assert.Equal(-2_000, received[3].DeltaMicroseconds);
    }

    [Fact]
    public void Writer_RandomArrivalsRoundTripWithin250Microseconds()
    {
        var random = new Random(1234);
        for (int round = 0; round < 200; round++)
        {
            ushort sequence = (ushort)random.Next(65536);
            long time = random.NextInt64(0, 1L << 40);
            var arrivals = new List<TransportWideArrival>();
            int count = random.Next(1, 300);
            for (int i = 0; i < count; i++)
            {
                arrivals.Add(new TransportWideArrival(sequence, time));
                sequence += (ushort)(random.Next(10) == 0 ? random.Next(2, 40) : 1);
                time += random.Next(20) == 0 ? random.Next(-20_000, 200_000) : random.Next(0, 8_000);
            }

            byte[] buffer = new byte[8192];
            int length = TransportWideFeedback.Write(buffer, 1, 2, (byte)round, arrivals.ToArray());
            Assert.True(TransportWideFeedback.TryRead(buffer.AsSpan(0, length), out TransportWideFeedback feedback));
            long reference = feedback.ReferenceTimeMicroseconds;
            var received = new List<TransportWidePacketStatus>();
            foreach (TransportWidePacketStatus status in feedback.Statuses)
            {
                if (status.Received)
                {
                    received.Add(status);
                }
            }

            Assert.Equal(arrivals.Count, received.Count);
            long firstReference = arrivals[0].ArrivalMicroseconds / 64_000 * 64_000;
            for (int i = 0; i < arrivals.Count; i++)
            {
                Assert.Equal(arrivals[i].SequenceNumber, received[i].SequenceNumber);
                long expected = arrivals[i].ArrivalMicroseconds - firstReference;
                long actual = received[i].ArrivalMicroseconds - reference;
                Assert.InRange(actual - expected, -125, 125);
            }
        }
    }

    [Fact]
    public void Writer_RejectsRepeatedSequenceNumbers()
    {
        byte[] buffer = new byte[128];
        Assert.Throws<ArgumentException>(() => TransportWideFeedback.Write(buffer, 1, 2, 0, [new(5, 0), new(5, 1000)]));
        Assert.Throws<ArgumentException>(() => TransportWideFeedback.Write(buffer, 1, 2, 0, [new(5, 0), new(7, 1000), new(6, 2000)]));
    }

    [Fact]
    public void Writer_UsesRunLengthForLongGapsAndPadsWithPaddingBit()
    {
        byte[] buffer = new byte[128];
        int length = TransportWideFeedback.Write(buffer, 1, 2, 0, [new(0, 0), new(1000, 250)]);
        // Chunks: a 1-bit vector (received, then 13 lost), a run of 986 lost, a run of 1 received; two small deltas.
        Assert.Equal(12 + 8 + 6 + 2, length);
        Assert.Equal(0, length % 4);
        Assert.Equal(Hex.Parse("A0 00 03 DA 20 01 00 01"), buffer.AsSpan(20, 8).ToArray());
        Assert.Equal(0, buffer[0] & 0x20);

        length = TransportWideFeedback.Write(buffer, 1, 2, 0, [new(0, 0)]);
        Assert.Equal(12 + 8 + 2 + 1 + 1, length);
        Assert.Equal(0x20, buffer[0] & 0x20);
        Assert.Equal(1, buffer[length - 1]);
        Assert.True(TransportWideFeedback.TryRead(buffer.AsSpan(0, length), out _));
    }
}
