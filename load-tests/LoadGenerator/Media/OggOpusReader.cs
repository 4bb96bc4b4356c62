namespace Teletherapy.LoadTests.Media;

/// <summary>
/// Reads the Opus packets of an Ogg file (RFC 3533 pages, RFC 7845 mapping): packets are the concatenated
/// lacing segments of the pages (a segment shorter than 255 ends a packet); the first two packets are the
/// OpusHead and OpusTags headers and are skipped.
/// </summary>
internal static class OggOpusReader
{
    public static IReadOnlyList<byte[]> ReadPackets(ReadOnlySpan<byte> file)
    {
        var packets = new List<byte[]>();
        var pending = new List<byte>();
        var offset = 0;
        while (offset + 27 <= file.Length)
        {
            if (!file.Slice(offset, 4).SequenceEqual("OggS"u8))
            {
                throw new InvalidDataException($"No Ogg page at offset {offset}.");
            }

            int segments = file[offset + 26];
            var table = file.Slice(offset + 27, segments);
            var data = offset + 27 + segments;
            foreach (var lace in table)
            {
                if (data + lace > file.Length)
                {
                    throw new InvalidDataException("A truncated Ogg page.");
                }

                pending.AddRange(file.Slice(data, lace));
                data += lace;
                if (lace < 255)
                {
                    packets.Add([.. pending]);
                    pending.Clear();
                }
            }

            offset = data;
        }

        if (packets.Count < 2 || !packets[0].AsSpan().StartsWith("OpusHead"u8))
        {
            throw new InvalidDataException("Not an Ogg Opus file.");
        }

        return packets.Skip(2).Where(p => p.Length > 0).ToList();
    }
}
