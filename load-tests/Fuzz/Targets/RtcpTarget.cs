using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Srtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>
/// Compound RTCP after SRTCP (RFC 3550 §6): the packet walk of TransportRouting.OnRtcp and every reader of a packet
/// type the relay or its client stack handles, feedback included: generic NACK (RFC 4585 §6.2.1), PLI (§6.3.1), FIR
/// (RFC 5104 §4.3.1), REMB and transport-wide congestion control feedback.
/// </summary>
internal sealed class RtcpTarget : FuzzTarget
{
    public override string Name => "rtcp";

    public override string EntryPoints =>
        "Demultiplexer.Classify, RtcpHeader.IsRtcp, RtcpPacketEnumerator, SenderReport/ReceiverReport/SourceDescription/Goodbye/" +
        "GenericNack/PictureLossIndication/FullIntraRequest/ReceiverEstimatedMaxBitrate/TransportWideFeedback.TryRead and their " +
        "item, block and status enumerations, SrtpPacketLayout.TryReadRtcpSsrc";

    // The first packet's length; in TWCC the status count, the first chunk and the first deltas.
    public override int[] LengthOffsets => [2, 14, 16, 20];

    public override IEnumerable<byte[]> Seeds(Corpus corpus) => [.. corpus.Load(Name), .. Written()];

    /// <summary>Packets made by the relay's own writers, and by hand where they write no such packet.</summary>
    private static IEnumerable<byte[]> Written()
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

        // TWCC with a run-length chunk and large deltas; SDES with two chunks and padding.
        yield return Bytes.Hex("AFCD0007 00000001 00000002 000A0006 00000103 2002C900 0408FFFC 01000001");
        yield return Bytes.Hex("82CA0006 00000001 01026162 02016300 00000002 0103 78797A00 0000");
    }

    public override bool Run(byte[] input)
    {
        PacketClass packetClass = Demultiplexer.Classify(input);
        bool isRtcp = RtcpHeader.IsRtcp(input);
        Check.That(!isRtcp || packetClass == PacketClass.Rtcp, "RTCP by its header but not to the demultiplexer");
        SrtpPacketLayout.TryReadRtcpSsrc(input, out _);
        int consumed = 0;
        var enumerator = new RtcpPacketEnumerator(input);
        while (enumerator.MoveNext())
        {
            RtcpHeader header = enumerator.Current;
            Check.That(header.Packet.Length >= 4 && header.Packet.Length <= input.Length - consumed, "packet outside the datagram");
            Check.That(header.Packet.Length % 4 == 0, "packet not a multiple of 4 bytes");
            Check.That(header.Body.Length == header.Packet.Length - 4 - header.PaddingLength, "body and padding do not add up");
            consumed += header.Packet.Length;
            _ = header.Count + header.PacketType;
            ReadEveryType(header.Packet);
        }

        Check.That(enumerator.IsMalformed || consumed == input.Length, "a well-formed compound packet not read to its end");
        return !enumerator.IsMalformed && consumed > 0;
    }

    private static void ReadEveryType(ReadOnlySpan<byte> packet)
    {
        if (SenderReport.TryRead(packet, out SenderReport sr))
        {
            _ = sr.Ssrc + sr.NtpTimestamp + sr.RtpTimestamp + sr.PacketCount + sr.OctetCount;
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
                Check.That(item.Value.Length <= 255, "SDES item longer than its length octet allows");
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

        ReadFeedback(packet);
    }

    private static void ReadFeedback(ReadOnlySpan<byte> packet)
    {
        if (GenericNack.TryRead(packet, out GenericNack nack))
        {
            int lost = 0;
            foreach (ushort _ in nack.LostSequenceNumbers)
            {
                lost++;
            }

            Check.That(lost >= nack.ItemCount && lost <= nack.ItemCount * 17, "NACK yields other than 1-17 sequence numbers an item");
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
            _ = remb.Bitrate;
            for (int i = 0; i < remb.SsrcCount; i++)
            {
                _ = remb.GetSsrc(i);
            }
        }

        if (TransportWideFeedback.TryRead(packet, out TransportWideFeedback twcc))
        {
            int count = 0;
            ushort expected = twcc.BaseSequenceNumber;
            _ = twcc.ReferenceTimeMicroseconds + twcc.FeedbackPacketCount;
            foreach (TransportWidePacketStatus status in twcc.Statuses)
            {
                Check.That(status.SequenceNumber == expected++, "TWCC statuses out of sequence");
                Check.That(status.Received || status.DeltaMicroseconds == 0, "TWCC delta for a packet not received");
                count++;
            }

            // TryRead checked that every status and delta is present, so decoding yields all of them.
            Check.That(count == twcc.PacketStatusCount, "TWCC decoded another number of statuses than it announced");
        }
    }
}
