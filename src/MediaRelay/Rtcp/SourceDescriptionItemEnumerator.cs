using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

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
