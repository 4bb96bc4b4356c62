using Teletherapy.MediaRelay.Rtcp;

namespace Teletherapy.MediaRelay.Tests.Rtcp;

public class RtcpReportTests
{
    private static readonly ReportBlock Block = new(0x01020304, 25, -3, 0x0001FFFF, 1234, 0xAABBCCDD, 65536);

    [Fact]
    public void SenderReport_RoundTrips()
    {
        byte[] buffer = new byte[256];
        int length = SenderReport.Write(buffer, 0x11111111, 0xE4A2B3C4D5E6F708, 90000, 500, 600000, [Block, Block with { Ssrc = 9 }]);
        Assert.Equal(4 + 24 + 48, length);

        Assert.True(RtcpHeader.IsRtcp(buffer));
        Assert.True(SenderReport.TryRead(buffer.AsSpan(0, length), out SenderReport sr));
        Assert.Equal(0x11111111u, sr.Ssrc);
        Assert.Equal(0xE4A2B3C4D5E6F708ul, sr.NtpTimestamp);
        Assert.Equal(90000u, sr.RtpTimestamp);
        Assert.Equal(500u, sr.PacketCount);
        Assert.Equal(600000u, sr.OctetCount);
        Assert.Equal(2, sr.ReportCount);
        Assert.Equal(Block, sr.GetReportBlock(0));
        Assert.Equal(9u, sr.GetReportBlock(1).Ssrc);
        Assert.False(ReceiverReport.TryRead(buffer.AsSpan(0, length), out _));
    }

    [Fact]
    public void ReceiverReport_RoundTrips()
    {
        byte[] buffer = new byte[64];
        int length = ReceiverReport.Write(buffer, 1, [Block]);
        Assert.Equal(32, length);
        Assert.Equal(Hex.Parse("81 C9 00 07"), buffer.AsSpan(0, 4).ToArray());
        Assert.True(ReceiverReport.TryRead(buffer.AsSpan(0, length), out ReceiverReport rr));
        Assert.Equal(1u, rr.Ssrc);
        Assert.Equal(1, rr.ReportCount);
        Assert.Equal(Block, rr.GetReportBlock(0));
    }

    [Fact]
    public void ReportBlock_CumulativeLostIsSigned24Bit()
    {
        byte[] block = new byte[24];
        (Block with { CumulativeLost = -1 }).Write(block);
        Assert.Equal(new byte[] { 0xFF, 0xFF, 0xFF }, block.AsSpan(5, 3).ToArray());
        Assert.Equal(-1, ReportBlock.Read(block).CumulativeLost);
        (Block with { CumulativeLost = 0x7FFFFF }).Write(block);
        Assert.Equal(0x7FFFFF, ReportBlock.Read(block).CumulativeLost);
        (Block with { CumulativeLost = int.MaxValue }).Write(block); // clamped
        Assert.Equal(0x7FFFFF, ReportBlock.Read(block).CumulativeLost);
    }

    [Fact]
    public void SenderReport_RejectsMissingBlocks()
    {
        byte[] buffer = new byte[256];
        int length = SenderReport.Write(buffer, 1, 2, 3, 4, 5, [Block]);
        buffer[0] = (byte)((buffer[0] & 0xE0) | 2); // claims two blocks
        Assert.False(SenderReport.TryRead(buffer.AsSpan(0, length), out _));
    }

    [Fact]
    public void SourceDescription_RoundTripsCname()
    {
        byte[] buffer = new byte[64];
        int length = SourceDescription.WriteCname(buffer, 0xABCD, "EqRDBHNp5EIY0nrg"u8);
        Assert.Equal(0, length % 4);
        Assert.Equal(4 + 4 + 2 + 16 + 2, length); // 16-byte CNAME + END + 1 pad byte
        Assert.True(SourceDescription.TryRead(buffer.AsSpan(0, length), out SourceDescription sdes));
        Assert.True(sdes.TryGetCname(out uint ssrc, out ReadOnlySpan<byte> cname));
        Assert.Equal(0xABCDu, ssrc);
        Assert.Equal("EqRDBHNp5EIY0nrg"u8.ToArray(), cname.ToArray());
    }

    [Fact]
    public void SourceDescription_ReadsSeveralChunks()
    {
        // Two chunks: SSRC 1 with CNAME "ab" and NAME "c"; SSRC 2 with CNAME "xyz".
        byte[] packet = Hex.Parse("""
            82 CA 00 06
            00 00 00 01 01 02 61 62 02 01 63 00
            00 00 00 02 01 03 78 79 7A 00 00 00
            """);
        Assert.True(SourceDescription.TryRead(packet, out SourceDescription sdes));
        var items = new List<(uint, byte, string)>();
        foreach (SourceDescriptionItem item in sdes.Items)
        {
            items.Add((item.Ssrc, item.Type, System.Text.Encoding.ASCII.GetString(item.Value)));
        }

        Assert.Equal([(1u, (byte)1, "ab"), (1u, (byte)2, "c"), (2u, (byte)1, "xyz")], items);
        packet[9] = 0x30; // first item's length now runs past the packet
        Assert.False(SourceDescription.TryRead(packet, out _));
    }

    [Fact]
    public void Goodbye_RoundTripsWithReason()
    {
        byte[] buffer = new byte[64];
        int length = Goodbye.Write(buffer, [1u, 2u], "bye"u8);
        Assert.Equal(4 + 8 + 4, length);
        Assert.True(Goodbye.TryRead(buffer.AsSpan(0, length), out Goodbye bye));
        Assert.Equal(2, bye.SourceCount);
        Assert.Equal(1u, bye.GetSsrc(0));
        Assert.Equal(2u, bye.GetSsrc(1));
        Assert.Equal("bye"u8.ToArray(), bye.Reason.ToArray());

        length = Goodbye.Write(buffer, [7u], default);
        Assert.Equal(8, length);
        Assert.True(Goodbye.TryRead(buffer.AsSpan(0, length), out bye));
        Assert.True(bye.Reason.IsEmpty);
    }

    [Fact]
    public void CompoundPacket_IteratesEveryPacket()
    {
        byte[] buffer = new byte[256];
        int offset = ReceiverReport.Write(buffer, 1, [Block]);
        offset += SourceDescription.WriteCname(buffer.AsSpan(offset), 1, "cname"u8);
        offset += PictureLossIndication.Write(buffer.AsSpan(offset), 1, 2);

        var types = new List<(byte, int)>();
        var enumerator = new RtcpPacketEnumerator(buffer.AsSpan(0, offset));
        while (enumerator.MoveNext())
        {
            types.Add((enumerator.Current.PacketType, enumerator.Current.Count));
        }

        Assert.False(enumerator.IsMalformed);
        Assert.Equal([(RtcpPacketType.ReceiverReport, 1), (RtcpPacketType.SourceDescription, 1), (RtcpPacketType.PayloadFeedback, 1)], types);

        var truncated = new RtcpPacketEnumerator(buffer.AsSpan(0, offset - 2));
        int count = 0;
        while (truncated.MoveNext())
        {
            count++;
        }

        Assert.Equal(2, count);
        Assert.True(truncated.IsMalformed);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 200 }, true)]
    [InlineData(new byte[] { 0x81, 206 }, true)]
    [InlineData(new byte[] { 0x80, 192 }, true)]
    [InlineData(new byte[] { 0x80, 223 }, true)]
    [InlineData(new byte[] { 0x80, 224 }, false)]
    [InlineData(new byte[] { 0x80, 191 }, false)]
    [InlineData(new byte[] { 0x80, 0x60 }, false)] // RTP PT 96
    [InlineData(new byte[] { 0x80, 0xEF }, false)] // RTP PT 111 with marker
    [InlineData(new byte[] { 0x00, 200 }, false)]
    public void IsRtcp_UsesSecondByteRange(byte[] start, bool expected)
    {
        byte[] datagram = new byte[8];
        start.CopyTo(datagram, 0);
        Assert.Equal(expected, RtcpHeader.IsRtcp(datagram));
    }

    [Fact]
    public void Padding_IsRemovedFromBody()
    {
        // RR with no blocks plus 4 bytes of padding (P bit set, last byte 4).
        byte[] packet = Hex.Parse("A0 C9 00 02 00 00 00 05 00 00 00 04");
        Assert.True(RtcpHeader.TryRead(packet, out RtcpHeader header));
        Assert.Equal(4, header.PaddingLength);
        Assert.Equal(4, header.Body.Length);
        Assert.True(ReceiverReport.TryRead(packet, out ReceiverReport rr));
        Assert.Equal(5u, rr.Ssrc);
        packet[^1] = 12; // more padding than the packet
        Assert.False(RtcpHeader.TryRead(packet, out _));
    }
}
