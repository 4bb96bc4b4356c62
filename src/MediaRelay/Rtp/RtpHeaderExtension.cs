namespace Teletherapy.MediaRelay.Rtp;

/// <summary>One extension element (RFC 8285 §4.2, §4.3) and where it sits in the packet, for in-place rewriting.</summary>
internal readonly ref struct RtpHeaderExtension
{
    public RtpHeaderExtension(byte id, ReadOnlySpan<byte> value, int elementOffset, int valueOffset)
    {
        Id = id;
        Value = value;
        ElementOffset = elementOffset;
        ValueOffset = valueOffset;
    }

    public byte Id { get; }

    public ReadOnlySpan<byte> Value { get; }

    /// <summary>Offset of the element's id byte from the start of the packet.</summary>
    public int ElementOffset { get; }

    /// <summary>Offset of the value from the start of the packet.</summary>
    public int ValueOffset { get; }

    public int ElementLength => ValueOffset - ElementOffset + Value.Length;
}
