namespace Teletherapy.MediaRelay.Rtcp;

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
