namespace Teletherapy.MediaRelay.Rtp;

/// <summary>
/// Walks the elements of a one-byte (0xBEDE) or two-byte (0x100X) header extension (RFC 8285 §4.2, §4.3).
/// Other profiles carry no elements this SFU understands and yield nothing. An element that would run past
/// the extension ends the walk.
/// </summary>
internal ref struct RtpHeaderExtensionEnumerator
{
    public const ushort OneByteProfile = 0xBEDE;
    public const ushort TwoByteProfileMask = 0xFFF0;
    public const ushort TwoByteProfile = 0x1000;

    private readonly ReadOnlySpan<byte> _data;
    private readonly int _baseOffset;
    private readonly int _kind; // 1 = one-byte, 2 = two-byte, 0 = unknown
    private int _position;

    public RtpHeaderExtensionEnumerator(ushort profile, ReadOnlySpan<byte> data, int baseOffset)
    {
        _data = data;
        _baseOffset = baseOffset;
        _kind = profile == OneByteProfile ? 1 : (profile & TwoByteProfileMask) == TwoByteProfile ? 2 : 0;
        _position = 0;
        Current = default;
    }

    public static bool IsOneByteProfile(ushort profile) => profile == OneByteProfile;

    public static bool IsTwoByteProfile(ushort profile) => (profile & TwoByteProfileMask) == TwoByteProfile;

    public RtpHeaderExtension Current { get; private set; }

    public readonly RtpHeaderExtensionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        while (_position < _data.Length)
        {
            byte first = _data[_position];
            // RFC 8285 §4.2/§4.3: zero bytes are padding between and after elements.
            if (first == 0)
            {
                _position++;
                continue;
            }

            int valueStart;
            int length;
            byte id;
            if (_kind == 1)
            {
                id = (byte)(first >> 4);
                // RFC 8285 §4.2: id 15 is reserved; processing of the whole extension stops there.
                if (id == 15)
                {
                    _position = _data.Length;
                    return false;
                }

                length = (first & 0x0F) + 1;
                valueStart = _position + 1;
            }
            else if (_kind == 2)
            {
                if (_position + 2 > _data.Length)
                {
                    _position = _data.Length;
                    return false;
                }

                id = first;
                length = _data[_position + 1];
                valueStart = _position + 2;
            }
            else
            {
                return false;
            }

            if (valueStart + length > _data.Length)
            {
                _position = _data.Length;
                return false;
            }

            Current = new RtpHeaderExtension(id, _data.Slice(valueStart, length), _baseOffset + _position, _baseOffset + valueStart);
            _position = valueStart + length;
            return true;
        }

        return false;
    }
}
