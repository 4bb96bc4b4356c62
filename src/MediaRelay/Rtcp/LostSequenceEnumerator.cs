using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>Expands PID|BLP items into the lost sequence numbers they name, in item order.</summary>
internal ref struct LostSequenceEnumerator
{
    private readonly ReadOnlySpan<byte> _fci;
    private int _item;
    private int _bit;

    public LostSequenceEnumerator(ReadOnlySpan<byte> fci)
    {
        _fci = fci;
        _item = 0;
        _bit = -1;
        Current = 0;
    }

    public ushort Current { get; private set; }

    public readonly LostSequenceEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        while (_item + 4 <= _fci.Length)
        {
            ushort pid = BinaryPrimitives.ReadUInt16BigEndian(_fci[_item..]);
            ushort blp = BinaryPrimitives.ReadUInt16BigEndian(_fci[(_item + 2)..]);
            if (_bit < 0)
            {
                _bit = 0;
                Current = pid;
                return true;
            }

            while (_bit < 16)
            {
                int bit = _bit++;
                if ((blp & (1 << bit)) != 0)
                {
                    Current = (ushort)(pid + bit + 1);
                    return true;
                }
            }

            _item += 4;
            _bit = -1;
        }

        return false;
    }
}
