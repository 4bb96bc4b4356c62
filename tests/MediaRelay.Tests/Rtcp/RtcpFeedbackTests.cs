using Teletherapy.MediaRelay.Rtcp;

namespace Teletherapy.MediaRelay.Tests.Rtcp;

public class RtcpFeedbackTests
{
    [Fact]
    public void GenericNack_ExpandsPidAndBlp()
    {
        // PID 100, BLP bits 0 and 15 -> 100, 101, 116; PID 65535 BLP bit 0 -> 65535, 0 (wraps)
        byte[] packet = Hex.Parse("81 CD 00 04 00 00 00 01 00 00 00 02 00 64 80 01 FF FF 00 01");
        Assert.True(GenericNack.TryRead(packet, out GenericNack nack));
        Assert.Equal(1u, nack.SenderSsrc);
        Assert.Equal(2u, nack.MediaSsrc);
        Assert.Equal(2, nack.ItemCount);
        var lost = new List<ushort>();
        foreach (ushort seq in nack.LostSequenceNumbers)
        {
            lost.Add(seq);
        }

        Assert.Equal(new ushort[] { 100, 101, 116, 65535, 0 }, lost);
    }

    [Fact]
    public void GenericNack_WriterPacksItemsAndRoundTrips()
    {
        ushort[] lost = [65530, 65531, 65535, 3, 10, 11, 40];
        byte[] buffer = new byte[128];
        int length = GenericNack.Write(buffer, 5, 6, lost);
        // 65530 covers up to 65530+16=10 (wrapping), so 65531,65535,3,10 fit; 11 starts a new item (and 40 another).
        Assert.Equal(12 + (3 * 4), length);
        Assert.Equal(length, GenericNack.GetLength(lost));
        Assert.True(GenericNack.TryRead(buffer.AsSpan(0, length), out GenericNack nack));
        var decoded = new List<ushort>();
        foreach (ushort seq in nack.LostSequenceNumbers)
        {
            decoded.Add(seq);
        }

        Assert.Equal(lost, decoded);
    }

    [Fact]
    public void PictureLossIndication_RoundTrips()
    {
        byte[] buffer = new byte[12];
        Assert.Equal(12, PictureLossIndication.Write(buffer, 0x1234, 0x5678));
        Assert.Equal(Hex.Parse("81 CE 00 02 00 00 12 34 00 00 56 78"), buffer);
        Assert.True(PictureLossIndication.TryRead(buffer, out PictureLossIndication pli));
        Assert.Equal(0x1234u, pli.SenderSsrc);
        Assert.Equal(0x5678u, pli.MediaSsrc);
        Assert.False(GenericNack.TryRead(buffer, out _));
        Assert.False(FullIntraRequest.TryRead(buffer, out _));
    }

    [Fact]
    public void FullIntraRequest_RoundTrips()
    {
        byte[] buffer = new byte[20];
        Assert.Equal(20, FullIntraRequest.Write(buffer, 1, 0xCAFE, 42));
        Assert.Equal(Hex.Parse("84 CE 00 04 00 00 00 01 00 00 00 00 00 00 CA FE 2A 00 00 00"), buffer);
        Assert.True(FullIntraRequest.TryRead(buffer, out FullIntraRequest fir));
        Assert.Equal(1, fir.EntryCount);
        Assert.Equal(0xCAFEu, fir.GetSsrc(0));
        Assert.Equal(42, fir.GetSequenceNumber(0));
    }

    [Theory]
    [InlineData(0ul)]
    [InlineData(262_143ul)] // largest mantissa with exponent 0
    [InlineData(262_144ul)]
    [InlineData(1_500_000ul)]
    [InlineData(30_000_000ul)]
    public void Remb_RoundTripsBitrateWithinMantissaPrecision(ulong bitrate)
    {
        byte[] buffer = new byte[64];
        int length = ReceiverEstimatedMaxBitrate.Write(buffer, 7, bitrate, [0x11u, 0x22u]);
        Assert.Equal(28, length);
        Assert.True(ReceiverEstimatedMaxBitrate.TryRead(buffer.AsSpan(0, length), out ReceiverEstimatedMaxBitrate remb));
        Assert.Equal(7u, remb.SenderSsrc);
        Assert.True(remb.Bitrate <= bitrate);
        Assert.True(bitrate - remb.Bitrate <= bitrate >> 17);
        Assert.Equal(2, remb.SsrcCount);
        Assert.Equal(0x22u, remb.GetSsrc(1));
    }

    [Fact]
    public void Remb_DecodesKnownPacket()
    {
        // Exponent 2, mantissa 0x3D090 (250000) -> 1,000,000 bps; one SSRC.
        byte[] packet = Hex.Parse("8F CE 00 05 00 00 00 01 00 00 00 00 52 45 4D 42 01 0B D0 90 12 34 56 78");
        Assert.True(ReceiverEstimatedMaxBitrate.TryRead(packet, out ReceiverEstimatedMaxBitrate remb));
        Assert.Equal(1_000_000ul, remb.Bitrate);
        Assert.Equal(0x12345678u, remb.GetSsrc(0));
        packet[12] = (byte)'X';
        Assert.False(ReceiverEstimatedMaxBitrate.TryRead(packet, out _));
    }
}
