using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Tests.Rtp;

public class Vp8PayloadDescriptorTests
{
    [Fact]
    public void FullDescriptor_DecodesEveryField()
    {
        // X=1 S=1 PID=0 | I L T K | M=1 PictureID 0x1234 | TL0PICIDX 0x56 | TID=2 Y=1 KEYIDX=5 | VP8 header (P=0)
        byte[] payload = Hex.Parse("90 F0 92 34 56 A5 10 02 00");
        Assert.True(Vp8PayloadDescriptor.TryRead(payload, out Vp8PayloadDescriptor d));
        Assert.Equal(6, d.Length);
        Assert.True(d.IsStartOfPartition);
        Assert.Equal(0, d.PartitionIndex);
        Assert.True(d.HasLongPictureId);
        Assert.Equal(0x1234, d.PictureId);
        Assert.Equal(0x56, d.Tl0PicIdx);
        Assert.Equal(2, d.TemporalLayerIndex);
        Assert.True(d.IsLayerSync);
        Assert.Equal(5, d.KeyIndex);
        Assert.True(d.IsKeyframe);
    }

    [Fact]
    public void ShortPictureId_AndInterFrame()
    {
        byte[] payload = Hex.Parse("90 80 7F 01");
        Assert.True(Vp8PayloadDescriptor.TryRead(payload, out Vp8PayloadDescriptor d));
        Assert.False(d.HasLongPictureId);
        Assert.Equal(0x7F, d.PictureId);
        Assert.False(d.HasTl0PicIdx);
        Assert.Equal(-1, d.TemporalLayerIndex);
        Assert.False(d.IsKeyframe); // P bit set
    }

    [Theory]
    [InlineData("10 00", true)] // minimal descriptor, S=1 PID=0, P=0
    [InlineData("00 00", false)] // not the start of a partition
    [InlineData("11 00", false)] // partition 1
    [InlineData("10", false)] // no payload header
    public void Keyframe(string hex, bool expected)
    {
        Assert.Equal(expected, Vp8PayloadDescriptor.IsKeyframePayload(Hex.Parse(hex)));
    }

    [Theory]
    [InlineData("90 80 92 34 10 02 00 9D 01 2A 80 02 E0 01", 640, 480)] // keyframe: start code, 640 and 480 (LE, 14 bits)
    [InlineData("10 50 02 00 9D 01 2A 80 42 E0 C1", 640, 480)] // the top 2 bits of each (upscaling) are not the size
    [InlineData("10 50 02 00 9D 01 2A 00 05 D0 02", 1280, 720)]
    public void KeyframeSize_IsReadFromTheFrameHeader(string hex, int width, int height)
    {
        Assert.True(Vp8PayloadDescriptor.TryReadKeyFrameSize(Hex.Parse(hex), out var w, out var h));
        Assert.Equal((width, height), (w, h));
    }

    [Theory]
    [InlineData("10 51 02 00 9D 01 2A 80 02 E0 01")] // an inter frame (P=1) has no size
    [InlineData("10 50 02 00 9D 01 2B 80 02 E0 01")] // no start code
    [InlineData("10 50 02 00 9D 01 2A 80 02 E0")] // cut short
    [InlineData("10 50 02 00 9D 01 2A 00 00 E0 01")] // width 0
    [InlineData("11 50 02 00 9D 01 2A 80 02 E0 01")] // not the first partition
    public void KeyframeSize_IsOnlyReadFromAWholeKeyframeHeader(string hex)
    {
        Assert.False(Vp8PayloadDescriptor.TryReadKeyFrameSize(Hex.Parse(hex), out _, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("80")] // X set, extension byte missing
    [InlineData("80 80")] // I set, PictureID missing
    [InlineData("80 80 80")] // M set, second PictureID byte missing
    [InlineData("80 60 01")] // L and T set, one byte missing
    public void TryRead_RejectsTruncated(string hex)
    {
        Assert.False(Vp8PayloadDescriptor.TryRead(Hex.Parse(hex), out _));
    }

    [Fact]
    public void PictureIdAndTl0PicIdx_AreRewrittenInPlace()
    {
        byte[] payload = Hex.Parse("90 C0 92 34 56 00");
        Assert.True(Vp8PayloadDescriptor.TrySetPictureId(payload, 0x8001)); // wraps to 15 bits
        Assert.True(Vp8PayloadDescriptor.TrySetTl0PicIdx(payload, 0xFE));
        Assert.True(Vp8PayloadDescriptor.TryRead(payload, out Vp8PayloadDescriptor d));
        Assert.True(d.HasLongPictureId);
        Assert.Equal(0x0001, d.PictureId);
        Assert.Equal(0xFE, d.Tl0PicIdx);

        byte[] shortId = Hex.Parse("90 80 05 00");
        Assert.True(Vp8PayloadDescriptor.TrySetPictureId(shortId, 130));
        Assert.True(Vp8PayloadDescriptor.TryRead(shortId, out d));
        Assert.False(d.HasLongPictureId);
        Assert.Equal(2, d.PictureId);
        Assert.False(Vp8PayloadDescriptor.TrySetTl0PicIdx(shortId, 1));
        Assert.False(Vp8PayloadDescriptor.TrySetPictureId(Hex.Parse("10 00"), 1));
    }
}

public class H264PayloadTests
{
    [Theory]
    [InlineData("65 88 84", true)] // IDR slice
    [InlineData("67 42 00 1F", true)] // SPS
    [InlineData("41 9A", false)] // non-IDR slice
    [InlineData("68 CE", false)] // PPS alone
    [InlineData("78 00 02 09 F0 00 03 67 42 00 00 02 68 CE", true)] // STAP-A: AUD, SPS, PPS
    [InlineData("78 00 02 09 F0 00 02 41 9A", false)] // STAP-A without keyframe units
    [InlineData("78 00 09 67", false)] // STAP-A unit longer than the payload
    [InlineData("7C 85 88", true)] // FU-A start of IDR
    [InlineData("7C 05 88", false)] // FU-A continuation of IDR
    [InlineData("7C 81 88", false)] // FU-A start of non-IDR
    [InlineData("7C", false)] // FU-A without header
    [InlineData("", false)]
    public void IsKeyframe(string hex, bool expected)
    {
        Assert.Equal(expected, H264Payload.IsKeyframe(Hex.Parse(hex)));
    }
}
