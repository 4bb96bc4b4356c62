using System.Buffers.Binary;

namespace Teletherapy.LoadTests.Media;

/// <summary>One encoded VP8 frame and whether it is a keyframe.</summary>
internal sealed record VideoFrame(byte[] Data, bool KeyFrame);

/// <summary>
/// Reads an IVF file: a 32-byte header ("DKIF", version, header size, fourcc, size, time base, frame count) and then
/// frames, each a 12-byte header (4-byte little-endian size, 8-byte timestamp) and the frame.
/// </summary>
internal static class IvfReader
{
    public static IReadOnlyList<VideoFrame> ReadFrames(ReadOnlySpan<byte> file)
    {
        if (file.Length < 32 || !file[..4].SequenceEqual("DKIF"u8))
        {
            throw new InvalidDataException("Not an IVF file.");
        }

        if (!file.Slice(8, 4).SequenceEqual("VP80"u8))
        {
            throw new InvalidDataException("The IVF file does not hold VP8.");
        }

        int offset = BinaryPrimitives.ReadUInt16LittleEndian(file[6..]);
        var frames = new List<VideoFrame>();
        while (offset + 12 <= file.Length)
        {
            var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(file[offset..]);
            offset += 12;
            if (size <= 0 || offset + size > file.Length)
            {
                break;
            }

            var data = file.Slice(offset, size).ToArray();
            offset += size;

            // RFC 6386 §9.1: the low bit of the frame tag is 0 on a keyframe.
            frames.Add(new VideoFrame(data, (data[0] & 0x01) == 0));
        }

        return frames;
    }
}
