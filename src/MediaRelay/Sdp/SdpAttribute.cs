namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// An <c>a=</c> line (RFC 8866 §5.13): a property attribute has no value (<c>a=rtcp-mux</c>), a value attribute
/// has one after the first colon (<c>a=mid:0</c>). Unknown attributes are kept so they serialize unchanged.
/// </summary>
internal sealed record SdpAttribute(string Name, string? Value = null)
{
    public override string ToString() => Value is null ? Name : $"{Name}:{Value}";

    internal static SdpAttribute Parse(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? new SdpAttribute(text) : new SdpAttribute(text[..colon], text[(colon + 1)..]);
    }
}
