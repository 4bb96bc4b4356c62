using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// Decodes the status chunks and receive deltas of a feedback packet validated by
/// <see cref="TransportWideFeedback.TryRead"/>, one packet at a time, without allocating.
/// </summary>
internal ref struct TransportWideStatusEnumerator
{
    private readonly ReadOnlySpan<byte> _fci;
    private readonly int _count;
    private int _produced;
    private int _chunkOffset;
    private ushort _chunk;
    private int _chunkCapacity;
    private int _chunkIndex;
    private int _deltaOffset;
    private long _arrival;

    public TransportWideStatusEnumerator(ReadOnlySpan<byte> fci, int deltasOffset, long referenceMicroseconds)
    {
        _fci = fci;
        _count = BinaryPrimitives.ReadUInt16BigEndian(fci[2..]);
        _produced = 0;
        _chunkOffset = 8;
        _chunk = 0;
        _chunkCapacity = 0;
        _chunkIndex = 0;
        _deltaOffset = deltasOffset;
        _arrival = referenceMicroseconds;
        Current = default;
    }

    public TransportWidePacketStatus Current { get; private set; }

    public readonly TransportWideStatusEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_produced >= _count)
        {
            return false;
        }

        while (_chunkIndex >= _chunkCapacity)
        {
            if (_chunkOffset + 2 > _fci.Length)
            {
                _produced = _count;
                return false;
            }

            _chunk = BinaryPrimitives.ReadUInt16BigEndian(_fci[_chunkOffset..]);
            _chunkOffset += 2;
            _chunkCapacity = TransportWideFeedback.ChunkCapacity(_chunk);
            _chunkIndex = 0;
        }

        int symbol = TransportWideFeedback.ChunkSymbol(_chunk, _chunkIndex++);
        ushort sequence = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(_fci) + _produced);
        _produced++;
        int delta;
        if (symbol == 1 && _deltaOffset + 1 <= _fci.Length)
        {
            delta = _fci[_deltaOffset] * TransportWideFeedback.DeltaUnitMicroseconds;
            _deltaOffset++;
        }
        else if (symbol == 2 && _deltaOffset + 2 <= _fci.Length)
        {
            delta = BinaryPrimitives.ReadInt16BigEndian(_fci[_deltaOffset..]) * TransportWideFeedback.DeltaUnitMicroseconds;
            _deltaOffset += 2;
        }
        else
        {
            Current = new TransportWidePacketStatus(sequence, false, 0, 0);
            return true;
        }

        _arrival += delta;
        Current = new TransportWidePacketStatus(sequence, true, delta, _arrival);
        return true;
    }
}
