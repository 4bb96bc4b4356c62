using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>VP8's PictureID and TL0PICIDX continue across a switch to another stream (RFC 7741 §4.2).</summary>
public sealed class Vp8NumberingTests
{
    [Fact]
    public void AStreamNeverSwitchedGoesOutUntouched()
    {
        var vp8 = new Vp8Numbering();
        vp8.Resynchronize(Payload(1_000, 20));
        Assert.Equal(default, vp8.Offsets);

        var payload = Payload(1_000, 20);
        vp8.Rewrite(payload, vp8.Offsets, remember: true);
        Assert.Equal(Payload(1_000, 20), payload);
    }

    [Fact]
    public void AnotherStreamContinuesFromTheNewestPictureSent()
    {
        var vp8 = new Vp8Numbering();
        vp8.Resynchronize(Payload(1_000, 20));
        Send(vp8, 1_000, 20, remember: true);
        Send(vp8, 1_002, 21, remember: true);
        Send(vp8, 1_001, 20, remember: false); // arrived late: not what the next stream continues from

        vp8.Resynchronize(Payload(5_000, 200));
        Assert.Equal((1_003, 22), Send(vp8, 5_000, 200, remember: true));
        Assert.Equal((1_004, 22), Send(vp8, 5_001, 200, remember: true));
        Assert.Equal((1_005, 23), Send(vp8, 5_002, 201, remember: true));

        // A retransmission of the first stream is rewritten with the offsets it went out with.
        var repair = Payload(1_001, 20);
        vp8.Rewrite(repair, default, remember: false);
        Assert.Equal((1_001, 20), Read(repair));
        Assert.Equal((1_006, 23), Send(vp8, 5_003, 201, remember: true));
    }

    [Fact]
    public void TheNumbersWrap()
    {
        var vp8 = new Vp8Numbering();
        vp8.Resynchronize(Payload(0x7FFF, 255));
        Send(vp8, 0x7FFF, 255, remember: true);

        vp8.Resynchronize(Payload(300, 9));
        Assert.Equal((0, 0), Send(vp8, 300, 9, remember: true));
    }

    /// <summary>A descriptor with a 15-bit PictureID and a TL0PICIDX, then one byte of VP8 payload header.</summary>
    private static byte[] Payload(int pictureId, byte tl0PicIdx) =>
        [0x90, 0xC0, (byte)(0x80 | (pictureId >> 8)), (byte)pictureId, tl0PicIdx, 0x00];

    private static (int PictureId, int Tl0PicIdx) Send(Vp8Numbering vp8, int pictureId, byte tl0PicIdx, bool remember)
    {
        var payload = Payload(pictureId, tl0PicIdx);
        vp8.Rewrite(payload, vp8.Offsets, remember);
        return Read(payload);
    }

    private static (int PictureId, int Tl0PicIdx) Read(byte[] payload)
    {
        Assert.True(Vp8PayloadDescriptor.TryRead(payload, out var descriptor));
        return (descriptor.PictureId, descriptor.Tl0PicIdx);
    }
}
