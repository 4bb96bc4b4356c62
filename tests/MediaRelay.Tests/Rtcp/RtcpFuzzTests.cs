using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Tests.Fuzzing;

namespace Teletherapy.MediaRelay.Tests.Rtcp;

public class RtcpFuzzTests
{
    private const int Iterations = 100_000;

    private static IEnumerable<byte[]> Seeds()
    {
        var block = new ReportBlock(1, 2, 3, 4, 5, 6, 7);
        byte[] buffer = new byte[1024];
        int offset = SenderReport.Write(buffer, 1, 2, 3, 4, 5, [block]);
        offset += SourceDescription.WriteCname(buffer.AsSpan(offset), 1, "cname-of-sender"u8);
        yield return buffer[..offset];

        offset = ReceiverReport.Write(buffer, 1, [block, block]);
        offset += Goodbye.Write(buffer.AsSpan(offset), [1u, 2u], "leaving"u8);
        yield return buffer[..offset];

        offset = GenericNack.Write(buffer, 1, 2, [10, 11, 30, 100]);
        offset += PictureLossIndication.Write(buffer.AsSpan(offset), 1, 2);
        offset += FullIntraRequest.Write(buffer.AsSpan(offset), 1, 2, 3);
        yield return buffer[..offset];

        offset = ReceiverEstimatedMaxBitrate.Write(buffer, 1, 2_000_000, [5u, 6u]);
        yield return buffer[..offset];

        TransportWideArrival[] arrivals =
        [
            new(100, 64_000), new(101, 65_000), new(104, 60_000), new(105, 200_000), new(140, 201_000), new(141, 201_250),
        ];
        offset = TransportWideFeedback.Write(buffer, 1, 2, 0, arrivals);
        yield return buffer[..offset];
        yield return Hex.Parse("AF CD 00 07 00 00 00 01 00 00 00 02 00 0A 00 06 00 00 01 03 20 02 C9 00 04 08 FF FC 01 00 00 01");
        yield return Hex.Parse("82 CA 00 06 00 00 00 01 01 02 61 62 02 01 63 00 00 00 00 02 01 03 78 79 7A 00 00 00");
    }

    [Fact]
    public void RandomAndMutatedInput_NeverThrowsAndStaysInBounds()
    {
        // Offset 2 is the first packet's length; 14 is the TWCC status count, 16-19 chunks and deltas.
        var mutator = new PacketMutator(4585, Seeds(), 2, 14, 16, 20);
        int packets = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = mutator.Next();
            RtcpHeader.IsRtcp(input);
            int consumed = 0;
            var enumerator = new RtcpPacketEnumerator(input);
            while (enumerator.MoveNext())
            {
                packets++;
                RtcpHeader header = enumerator.Current;
                Assert.InRange(header.Packet.Length, 4, input.Length - consumed);
                Assert.Equal(0, header.Packet.Length % 4);
                Assert.Equal(header.Packet.Length - 4 - header.PaddingLength, header.Body.Length);
                consumed += header.Packet.Length;
                ReadEveryType(header.Packet);
            }

            Assert.True(enumerator.IsMalformed || consumed == input.Length);
        }

        Assert.True(packets > Iterations / 5, $"only {packets} packets were read");
    }

    private static void ReadEveryType(ReadOnlySpan<byte> packet)
    {
        if (SenderReport.TryRead(packet, out SenderReport sr))
        {
            _ = sr.NtpTimestamp + sr.RtpTimestamp + sr.PacketCount + sr.OctetCount;
            for (int i = 0; i < sr.ReportCount; i++)
            {
                _ = sr.GetReportBlock(i);
            }
        }

        if (ReceiverReport.TryRead(packet, out ReceiverReport rr))
        {
            for (int i = 0; i < rr.ReportCount; i++)
            {
                _ = rr.GetReportBlock(i);
            }
        }

        if (SourceDescription.TryRead(packet, out SourceDescription sdes))
        {
            foreach (SourceDescriptionItem item in sdes.Items)
            {
                Assert.True(item.Value.Length <= 255);
            }

            sdes.TryGetCname(out _, out _);
        }

        if (Goodbye.TryRead(packet, out Goodbye bye))
        {
            for (int i = 0; i < bye.SourceCount; i++)
            {
                _ = bye.GetSsrc(i);
            }
        }

        if (GenericNack.TryRead(packet, out GenericNack nack))
        {
            int lost = 0;
            foreach (ushort _ in nack.LostSequenceNumbers)
            {
                lost++;
            }

            Assert.InRange(lost, nack.ItemCount, nack.ItemCount * 17);
        }

        if (PictureLossIndication.TryRead(packet, out PictureLossIndication pli))
        {
            _ = pli.MediaSsrc;
        }

        if (FullIntraRequest.TryRead(packet, out FullIntraRequest fir))
        {
            for (int i = 0; i < fir.EntryCount; i++)
            {
                _ = fir.GetSsrc(i) + fir.GetSequenceNumber(i);
            }
        }

        if (ReceiverEstimatedMaxBitrate.TryRead(packet, out ReceiverEstimatedMaxBitrate remb))
        {
            for (int i = 0; i < remb.SsrcCount; i++)
            {
                _ = remb.GetSsrc(i);
            }
        }

        if (TransportWideFeedback.TryRead(packet, out TransportWideFeedback twcc))
        {
            int count = 0;
            ushort expected = twcc.BaseSequenceNumber;
            foreach (TransportWidePacketStatus status in twcc.Statuses)
            {
                Assert.Equal(expected++, status.SequenceNumber);
                Assert.True(status.Received || status.DeltaMicroseconds == 0);
                count++;
            }

            // TryRead checked that every status and delta is present, so decoding yields all of them.
            Assert.Equal(twcc.PacketStatusCount, count);
        }
    }
}
