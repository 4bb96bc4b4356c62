using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Tests.Rtp;

public class RtpHeaderTests
{
    // V=2 P=0 X=1 CC=1, M=1 PT=96, seq 0x1234, ts 0xDEADBEEF, SSRC 0x11223344, CSRC 0x55667788,
    // one-byte extension: id 1 len 1 (0xAA), padding, id 3 len 3 (01 02 03 04? no: 3 bytes), payload.
    internal static readonly byte[] Packet = Hex.Parse("""
        91 E0 12 34 DE AD BE EF 11 22 33 44 55 66 77 88
        BE DE 00 02 10 AA 00 32 01 02 03 00
        CA FE BA BE
        """);

    [Fact]
    public void TryRead_DecodesAllFields()
    {
        Assert.True(RtpHeader.TryRead(Packet, out RtpHeader header));
        Assert.Equal(2, header.Version);
        Assert.False(header.HasPadding);
        Assert.True(header.HasExtension);
        Assert.Equal(1, header.CsrcCount);
        Assert.True(header.Marker);
        Assert.Equal(96, header.PayloadType);
        Assert.Equal(0x1234, header.SequenceNumber);
        Assert.Equal(0xDEADBEEFu, header.Timestamp);
        Assert.Equal(0x11223344u, header.Ssrc);
        Assert.Equal(0x55667788u, header.GetCsrc(0));
        Assert.Equal(0xBEDE, header.ExtensionProfile);
        Assert.Equal(20, header.ExtensionOffset);
        Assert.Equal(8, header.ExtensionLength);
        Assert.Equal(28, header.HeaderLength);
        Assert.Equal(4, header.PayloadLength);
        Assert.Equal(Hex.Parse("CAFEBABE"), header.Payload.ToArray());
    }

    [Fact]
    public void OneByteExtensions_EnumerateSkippingPadding()
    {
        Assert.True(RtpHeader.TryRead(Packet, out RtpHeader header));
        var ids = new List<(byte Id, byte[] Value, int Offset)>();
        foreach (RtpHeaderExtension element in header.Extensions)
        {
            ids.Add((element.Id, element.Value.ToArray(), element.ValueOffset));
        }

        Assert.Equal(2, ids.Count);
        Assert.Equal((byte)1, ids[0].Id);
        Assert.Equal(new byte[] { 0xAA }, ids[0].Value);
        Assert.Equal(21, ids[0].Offset);
        Assert.Equal((byte)3, ids[1].Id);
        Assert.Equal(new byte[] { 1, 2, 3 }, ids[1].Value);
        Assert.True(header.TryGetExtension(3, out ReadOnlySpan<byte> value));
        Assert.Equal(3, value.Length);
        Assert.False(header.TryGetExtension(2, out _));
    }

    [Fact]
    public void OneByteExtension_Id15StopsProcessing()
    {
        byte[] packet = Hex.Parse("90 60 00 01 00 00 00 01 00 00 00 01 BE DE 00 02 10 AA F0 20 01 02 00 00");
        Assert.True(RtpHeader.TryRead(packet, out RtpHeader header));
        int count = 0;
        foreach (RtpHeaderExtension element in header.Extensions)
        {
            count++;
            Assert.Equal(1, element.Id);
        }

        Assert.Equal(1, count);
    }

    [Fact]
    public void TwoByteExtensions_Enumerate()
    {
        // profile 0x1000, id 1 len 0, padding, id 200 len 3, padding
        byte[] packet = Hex.Parse("90 60 00 01 00 00 00 01 00 00 00 01 10 00 00 02 01 00 00 C8 03 0A 0B 0C");
        Assert.True(RtpHeader.TryRead(packet, out RtpHeader header));
        var found = new List<(byte, int)>();
        foreach (RtpHeaderExtension element in header.Extensions)
        {
            found.Add((element.Id, element.Value.Length));
        }

        Assert.Equal([(1, 0), (200, 3)], found);
        Assert.True(header.TryGetExtension(200, out ReadOnlySpan<byte> value));
        Assert.Equal(new byte[] { 0x0A, 0x0B, 0x0C }, value.ToArray());
    }

    [Fact]
    public void Padding_IsExcludedFromPayload()
    {
        byte[] packet = Hex.Parse("A0 60 00 01 00 00 00 01 00 00 00 01 11 22 33 00 00 03");
        Assert.True(RtpHeader.TryRead(packet, out RtpHeader header));
        Assert.True(header.HasPadding);
        Assert.Equal(3, header.PaddingLength);
        Assert.Equal(new byte[] { 0x11, 0x22, 0x33 }, header.Payload.ToArray());
    }

    [Theory]
    [InlineData("80 60 00 01 00 00 00 01 00 00 00")] // shorter than the fixed header
    [InlineData("40 60 00 01 00 00 00 01 00 00 00 01")] // version 1
    [InlineData("81 60 00 01 00 00 00 01 00 00 00 01")] // CSRC missing
    [InlineData("90 60 00 01 00 00 00 01 00 00 00 01 BE DE")] // extension header cut
    [InlineData("90 60 00 01 00 00 00 01 00 00 00 01 BE DE 00 02 10 AA 00 00")] // extension longer than packet
    [InlineData("A0 60 00 01 00 00 00 01 00 00 00 01 11 00")] // padding count 0
    [InlineData("A0 60 00 01 00 00 00 01 00 00 00 01 11 05")] // padding longer than payload
    public void TryRead_RejectsInconsistentPackets(string hex)
    {
        Assert.False(RtpHeader.TryRead(Hex.Parse(hex), out _));
    }

    [Fact]
    public void Rewriter_SetsFixedFields()
    {
        byte[] packet = (byte[])Packet.Clone();
        RtpHeaderRewriter.SetSsrc(packet, 0xAABBCCDD);
        RtpHeaderRewriter.SetSequenceNumber(packet, 65535);
        RtpHeaderRewriter.SetTimestamp(packet, 7);
        RtpHeaderRewriter.SetPayloadType(packet, 100);
        RtpHeaderRewriter.SetMarker(packet, false);

        Assert.True(RtpHeader.TryRead(packet, out RtpHeader header));
        Assert.Equal(0xAABBCCDDu, header.Ssrc);
        Assert.Equal(65535, header.SequenceNumber);
        Assert.Equal(7u, header.Timestamp);
        Assert.Equal(100, header.PayloadType);
        Assert.False(header.Marker);
        Assert.Equal(0x55667788u, header.GetCsrc(0));

        RtpHeaderRewriter.SetMarker(packet, true);
        RtpHeaderRewriter.SetPayloadType(packet, 111);
        Assert.True(RtpHeader.TryRead(packet, out header));
        Assert.True(header.Marker);
        Assert.Equal(111, header.PayloadType);
    }

    [Fact]
    public void Rewriter_MapsAndDropsExtensionIds()
    {
        byte[] packet = (byte[])Packet.Clone();
        byte[] map = new byte[256];
        map[1] = 9; // 1 -> 9
        map[3] = 0; // 3 dropped
        Assert.True(RtpHeaderRewriter.RewriteExtensionIds(packet, map));

        Assert.True(RtpHeader.TryRead(packet, out RtpHeader header));
        Assert.Equal(28, header.HeaderLength);
        Assert.True(header.TryGetExtension(9, out ReadOnlySpan<byte> value));
        Assert.Equal(new byte[] { 0xAA }, value.ToArray());
        Assert.False(header.TryGetExtension(1, out _));
        Assert.False(header.TryGetExtension(3, out _));
        Assert.Equal(new byte[4], packet.AsSpan(23, 4).ToArray());
        Assert.Equal(Hex.Parse("CAFEBABE"), header.Payload.ToArray());
    }

    [Fact]
    public void Rewriter_DropsIdsThatOneByteElementsCannotCarry()
    {
        byte[] packet = (byte[])Packet.Clone();
        byte[] map = new byte[256];
        map[1] = 15;
        map[3] = 3;
        Assert.True(RtpHeaderRewriter.RewriteExtensionIds(packet, map));
        Assert.True(RtpHeader.TryRead(packet, out RtpHeader header));
        Assert.False(header.TryGetExtension(15, out _));
        Assert.True(header.TryGetExtension(3, out _));
    }

    [Fact]
    public void Rewriter_SetsExtensionValueOnlyWhenSizesMatch()
    {
        byte[] packet = (byte[])Packet.Clone();
        Assert.True(RtpHeaderRewriter.TrySetAbsSendTime(packet, 3, 0xABCDEF));
        Assert.True(RtpHeader.TryRead(packet, out RtpHeader header));
        Assert.True(header.TryGetExtension(3, out ReadOnlySpan<byte> value));
        Assert.Equal(new byte[] { 0xAB, 0xCD, 0xEF }, value.ToArray());

        Assert.False(RtpHeaderRewriter.TrySetTransportSequenceNumber(packet, 3, 5)); // 2 bytes into a 3-byte element
        Assert.False(RtpHeaderRewriter.TrySetTransportSequenceNumber(packet, 7, 5)); // absent
    }

    [Fact]
    public void Writer_BuildsHeaderWithExtensions()
    {
        byte[] buffer = new byte[64];
        buffer.AsSpan().Fill(0xEE);
        var writer = new RtpHeaderWriter(buffer, 96, 1000, 90000, 0xCAFEBABE, true);
        writer.AddOneByteExtension(4, "0"u8);
        writer.AddOneByteExtension(5, [0x01, 0x02]);
        int length = writer.Complete();
        Assert.Equal(12 + 4 + 8, length);

        Assert.True(RtpHeader.TryRead(buffer.AsSpan(0, length), out RtpHeader header));
        Assert.Equal(96, header.PayloadType);
        Assert.True(header.Marker);
        Assert.Equal(1000, header.SequenceNumber);
        Assert.Equal(90000u, header.Timestamp);
        Assert.Equal(0xCAFEBABEu, header.Ssrc);
        Assert.Equal(length, header.HeaderLength);
        Assert.Equal(0, header.PayloadLength);
        Assert.True(header.TryGetExtension(4, out ReadOnlySpan<byte> mid));
        Assert.Equal("0"u8.ToArray(), mid.ToArray());
        Assert.True(header.TryGetExtension(5, out ReadOnlySpan<byte> five));
        Assert.Equal(new byte[] { 1, 2 }, five.ToArray());
    }

    [Fact]
    public void Writer_WithoutExtensionsIsTwelveBytes()
    {
        byte[] buffer = new byte[12];
        var writer = new RtpHeaderWriter(buffer, 111, 1, 2, 3, false);
        Assert.Equal(12, writer.Complete());
        Assert.Equal(Hex.Parse("806F0001000000020000 0003"), buffer);
    }
}
