using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// Source Description, PT 202 (RFC 3550 §6.5): SC chunks, each an SSRC and items (type, length, text) ended by
/// a zero byte and padded to a 32-bit boundary.
/// </summary>
internal readonly ref struct SourceDescription
{
    public const byte ItemEnd = 0;
    public const byte ItemCname = 1;

    private SourceDescription(ReadOnlySpan<byte> body, int chunkCount)
    {
        Body = body;
        ChunkCount = chunkCount;
    }

    public ReadOnlySpan<byte> Body { get; }

    public int ChunkCount { get; }

    public SourceDescriptionItemEnumerator Items => new(Body, ChunkCount);

    public static bool TryRead(ReadOnlySpan<byte> packet, out SourceDescription description)
    {
        description = default;
        if (!RtcpHeader.TryReadBody(packet, RtcpPacketType.SourceDescription, -1, out RtcpHeader header, out ReadOnlySpan<byte> body))
        {
            return false;
        }

        var items = new SourceDescriptionItemEnumerator(body, header.Count);
        while (items.MoveNext())
        {
        }

        if (items.IsMalformed)
        {
            return false;
        }

        description = new SourceDescription(body, header.Count);
        return true;
    }

    public bool TryGetCname(out uint ssrc, out ReadOnlySpan<byte> cname)
    {
        foreach (SourceDescriptionItem item in Items)
        {
            if (item.Type == ItemCname)
            {
                ssrc = item.Ssrc;
                cname = item.Value;
                return true;
            }
        }

        ssrc = 0;
        cname = default;
        return false;
    }

    /// <summary>One chunk with a CNAME item (the only item RFC 3550 §6.5.1 requires).</summary>
    public static int WriteCname(Span<byte> destination, uint ssrc, ReadOnlySpan<byte> cname)
    {
        if (cname.Length > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(cname), "An SDES item holds at most 255 bytes.");
        }

        // Chunk: SSRC, CNAME item, at least one zero byte ending the list, padded to 32 bits.
        int chunk = (4 + 2 + cname.Length + 1 + 3) & ~3;
        int length = RtcpHeader.Length + chunk;
        RtcpHeader.EnsureCapacity(destination, length);
        RtcpHeader.Write(destination, 1, RtcpPacketType.SourceDescription, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ssrc);
        destination[8] = ItemCname;
        destination[9] = (byte)cname.Length;
        cname.CopyTo(destination[10..]);
        destination[(10 + cname.Length)..length].Clear();
        return length;
    }
}
