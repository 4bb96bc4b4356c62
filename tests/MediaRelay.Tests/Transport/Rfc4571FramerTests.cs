using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

public sealed class Rfc4571FramerTests
{
    private static readonly byte[][] Packets = [[0x42], Pattern(300, 1), [0x80, 0x60], Pattern(1200, 7)];

    [Fact]
    public void EveryFrameSurvivesASplitAtEveryByteBoundary()
    {
        byte[] stream = Stream(Packets);
        for (int split = 0; split <= stream.Length; split++)
        {
            var framer = new Rfc4571Framer();
            var frames = new List<byte[]>();
            Assert.True(framer.Append(stream.AsSpan(0, split), frames, Collect));
            Assert.True(framer.Append(stream.AsSpan(split), frames, Collect));
            Assert.Equal(Packets, frames);
        }
    }

    [Fact]
    public void OneByteAtATimeReassemblesEveryFrame()
    {
        byte[] stream = Stream(Packets);
        var framer = new Rfc4571Framer();
        var frames = new List<byte[]>();
        foreach (byte b in stream)
        {
            Assert.True(framer.Append([b], frames, Collect));
        }

        Assert.Equal(Packets, frames);
    }

    [Fact]
    public void SeveralFramesInOneReadAreAllDelivered()
    {
        var frames = new List<byte[]>();
        Assert.True(new Rfc4571Framer().Append(Stream(Packets), frames, Collect));
        Assert.Equal(Packets, frames);
    }

    [Fact]
    public void AFrameAndAHalfKeepTheHalfForTheNextRead()
    {
        byte[] stream = Stream(Packets);
        int firstTwo = 2 + Packets[0].Length + 2 + Packets[1].Length;
        var framer = new Rfc4571Framer();
        var frames = new List<byte[]>();
        Assert.True(framer.Append(stream.AsSpan(0, firstTwo + 3), frames, Collect));
        Assert.Equal(2, frames.Count);
        Assert.True(framer.Append(stream.AsSpan(firstTwo + 3), frames, Collect));
        Assert.Equal(Packets, frames);
    }

    [Fact]
    public void AZeroLengthFrameIsRejected()
    {
        var frames = new List<byte[]>();
        var framer = new Rfc4571Framer();
        Assert.False(framer.Append([0x00, 0x00, 0x01, 0x02], frames, Collect));
        Assert.Empty(frames);

        // Also after a valid frame, and when the zero length arrives in pieces.
        framer = new Rfc4571Framer();
        Assert.True(framer.Append([0x00, 0x01, 0x99, 0x00], frames, Collect));
        Assert.False(framer.Append([0x00], frames, Collect));
        Assert.Equal([[0x99]], frames);
    }

    [Fact]
    public void TheLargestFrameRoundTrips()
    {
        byte[] packet = Pattern(Rfc4571Framer.MaxFrame, 3);
        byte[] framed = new byte[Rfc4571Framer.MaxFrame + 2];
        Assert.Equal(framed.Length, Rfc4571Framer.Frame(packet, framed));
        Assert.Equal(0xFF, framed[0]);
        Assert.Equal(0xFF, framed[1]);
        var frames = new List<byte[]>();
        Assert.True(new Rfc4571Framer().Append(framed, frames, Collect));
        Assert.Equal(packet, Assert.Single(frames));
    }

    [Fact]
    public void FrameRefusesWhatDoesNotFit()
    {
        Assert.Equal(0, Rfc4571Framer.Frame(new byte[10], new byte[11]));
        Assert.Equal(0, Rfc4571Framer.Frame(new byte[Rfc4571Framer.MaxFrame + 1], new byte[Rfc4571Framer.MaxFrame + 3]));
        Assert.Equal(12, Rfc4571Framer.Frame(new byte[10], new byte[12]));
    }

    private static void Collect(List<byte[]> frames, Span<byte> frame) => frames.Add(frame.ToArray());

    private static byte[] Stream(byte[][] packets)
    {
        byte[] stream = new byte[packets.Sum(p => p.Length + 2)];
        int offset = 0;
        foreach (byte[] packet in packets)
        {
            offset += Rfc4571Framer.Frame(packet, stream.AsSpan(offset));
        }

        return stream;
    }

    private static byte[] Pattern(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
