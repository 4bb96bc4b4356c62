using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>
/// RFC 4571 §2 framing of ICE-TCP (RFC 6544): the reassembly of <see cref="Rfc4571Framer"/> fed a byte stream in pieces
/// of varying size, checked against a plain reading of the same stream (every frame, byte for byte, and the verdict on
/// a zero or oversized length). An input is two control bytes, then the stream: the first picks the piece sizes, the
/// second the frame limit (2048 before a connection authenticated, TcpConnection.MaxUnauthenticatedFrame, else 65535).
/// </summary>
internal sealed class Rfc4571Target : FuzzTarget
{
    private readonly List<byte[]> _frames = [];
    private readonly byte[] _stream = new byte[PacketMutator.MaxLength];

    public override string Name => "rfc4571";

    public override string EntryPoints => "Rfc4571Framer.Append (pieces of 1 byte to the whole stream), Rfc4571Framer.Frame";

    // The first frame's length, after the two control bytes.
    public override int[] LengthOffsets => [2];

    public override IEnumerable<byte[]> Seeds(Corpus corpus)
    {
        foreach (byte[] recorded in corpus.Load(Name))
        {
            yield return [0x00, 0x00, .. recorded];
            yield return [0x35, 0x01, .. recorded];
        }

        byte[] frame = new byte[64];
        int length = Rfc4571Framer.Frame(Bytes.Hex("0001 0000 2112A442 000102030405060708090A0B"), frame);
        yield return [0x07, 0x00, .. frame.AsSpan(0, length), .. frame.AsSpan(0, length)];
    }

    public override bool Run(byte[] input)
    {
        if (input.Length < 2)
        {
            return false;
        }

        ReadOnlySpan<byte> stream = input.AsSpan(2);
        int maxFrame = (input[1] & 1) == 0 ? Rfc4571Framer.MaxFrame : TcpConnection.MaxUnauthenticatedFrame;
        var framer = new Rfc4571Framer { MaxFrameLength = maxFrame };
        _frames.Clear();
        bool open = true;
        var pieces = new Random(input[0]);
        int offset = 0;
        while (open && offset < stream.Length)
        {
            int size = Math.Min(stream.Length - offset, 1 + pieces.Next(1 << pieces.Next(12)));
            stream.Slice(offset, size).CopyTo(_stream);
            open = framer.Append(_stream.AsSpan(0, size), _frames, static (frames, frame) => frames.Add(frame.ToArray()));
            offset += size;
        }

        bool expectedOpen = Expected(stream, maxFrame, out int expectedFrames, out int storage);
        Check.That(open == expectedOpen, $"framer {(open ? "kept" : "closed")} a stream that should be {(expectedOpen ? "kept" : "closed")}");
        Check.That(_frames.Count == expectedFrames, $"{_frames.Count} frames where the stream holds {expectedFrames}");
        int position = 0;
        foreach (byte[] frame in _frames)
        {
            Check.That(frame.AsSpan().SequenceEqual(stream.Slice(position + 2, frame.Length)), "a frame differs from the stream");
            position += 2 + frame.Length;
        }

        Check.That(framer.StorageBytes <= Math.Max(storage, Rfc4571Framer.MaxFrame), "reassembly storage beyond the largest frame");
        byte[] framed = new byte[stream.Length + 2];
        int written = Rfc4571Framer.Frame(stream, framed);
        Check.That(written == (stream.Length <= Rfc4571Framer.MaxFrame ? stream.Length + 2 : 0), "Frame wrote a wrong length");
        return open && expectedFrames > 0;
    }

    /// <summary>The stream read frame by frame as RFC 4571 §2 defines it: whether it stays valid, and its whole frames.</summary>
    private static bool Expected(ReadOnlySpan<byte> stream, int maxFrame, out int frames, out int largest)
    {
        frames = 0;
        largest = 0;
        int offset = 0;
        while (offset + 2 <= stream.Length)
        {
            int length = (stream[offset] << 8) | stream[offset + 1];
            if (length == 0 || length > maxFrame)
            {
                return false;
            }

            largest = Math.Max(largest, length);
            if (offset + 2 + length > stream.Length)
            {
                return true;
            }

            frames++;
            offset += 2 + length;
        }

        return true;
    }
}
