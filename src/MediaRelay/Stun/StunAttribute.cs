namespace Teletherapy.MediaRelay.Stun;

/// <summary>One attribute of a STUN message: a type and its value without padding (RFC 8489 §14).</summary>
internal readonly ref struct StunAttribute
{
    public StunAttribute(ushort type, ReadOnlySpan<byte> value, int offset)
    {
        Type = type;
        Value = value;
        Offset = offset;
    }

    public ushort Type { get; }

    public ReadOnlySpan<byte> Value { get; }

    /// <summary>Offset of the attribute header from the start of the message.</summary>
    public int Offset { get; }
}
