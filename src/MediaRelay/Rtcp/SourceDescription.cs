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

/// <summary>One SDES item with the SSRC of its chunk.</summary>
internal readonly ref struct SourceDescriptionItem
{
    public SourceDescriptionItem(uint ssrc, byte type, ReadOnlySpan<byte> value)
    {
        Ssrc = ssrc;
        Type = type;
        Value = value;
    }

    public uint Ssrc { get; }

    public byte Type { get; }

    public ReadOnlySpan<byte> Value { get; }
}

/// <summary>Walks the items of all chunks, bounds-checked; stops with <see cref="IsMalformed"/> on bad layout.</summary>
internal ref struct SourceDescriptionItemEnumerator
{
    private readonly ReadOnlySpan<byte> _body;
    private int _chunksLeft;
    private int _position;
    private bool _inChunk;
    private uint _ssrc;

    public SourceDescriptionItemEnumerator(ReadOnlySpan<byte> body, int chunkCount)
    {
        _body = body;
        _chunksLeft = chunkCount;
        _position = 0;
        _inChunk = false;
        _ssrc = 0;
        Current = default;
        IsMalformed = false;
    }

    public SourceDescriptionItem Current { get; private set; }

    public bool IsMalformed { get; private set; }

    public readonly SourceDescriptionItemEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        while (true)
        {
            if (!_inChunk)
            {
                if (_chunksLeft == 0)
                {
                    return false;
                }

                if (_position + 4 > _body.Length)
                {
                    return Fail();
                }

                _ssrc = BinaryPrimitives.ReadUInt32BigEndian(_body[_position..]);
                _position += 4;
                _chunksLeft--;
                _inChunk = true;
            }

            if (_position >= _body.Length)
            {
                return Fail();
            }

            byte type = _body[_position];
            if (type == SourceDescription.ItemEnd)
            {
                // RFC 3550 §6.5: the list ends with a null item and the next chunk starts on a 32-bit boundary.
                _position = (_position + 4) & ~3;
                if (_position > _body.Length)
                {
                    return Fail();
                }

                _inChunk = false;
                continue;
            }

            if (_position + 2 > _body.Length)
            {
                return Fail();
            }

            int length = _body[_position + 1];
            if (_position + 2 + length > _body.Length)
            {
                return Fail();
            }

            Current = new SourceDescriptionItem(_ssrc, type, _body.Slice(_position + 2, length));
            _position += 2 + length;
            return true;
        }
    }

    private bool Fail()
    {
        IsMalformed = true;
        _chunksLeft = 0;
        _inChunk = false;
        return false;
    }
}
