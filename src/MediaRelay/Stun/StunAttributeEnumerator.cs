using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Stun;

/// <summary>
/// Walks the attributes of a message whose attribute area was validated by <see cref="StunMessage.TryRead"/>.
/// </summary>
internal ref struct StunAttributeEnumerator
{
    private readonly ReadOnlySpan<byte> _message;
    private int _next;

    public StunAttributeEnumerator(ReadOnlySpan<byte> message)
    {
        _message = message;
        _next = StunMessage.HeaderLength;
        Current = default;
    }

    public StunAttribute Current { get; private set; }

    public readonly StunAttributeEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_next + 4 > _message.Length)
        {
            return false;
        }

        ushort type = BinaryPrimitives.ReadUInt16BigEndian(_message[_next..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(_message[(_next + 2)..]);
        int valueStart = _next + 4;
        if (valueStart + length > _message.Length)
        {
            return false;
        }

        Current = new StunAttribute(type, _message.Slice(valueStart, length), _next);
        // RFC 8489 §14: values are padded to a multiple of 4 bytes; the length excludes the padding.
        _next = valueStart + StunMessage.Pad4(length);
        return true;
    }
}
