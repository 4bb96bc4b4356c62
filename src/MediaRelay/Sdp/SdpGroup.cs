namespace Teletherapy.MediaRelay.Sdp;

/// <summary><c>a=group:&lt;semantics&gt; &lt;mid&gt;...</c> (RFC 5888 §5), e.g. BUNDLE (RFC 9143 §7.1).</summary>
internal sealed record SdpGroup(string Semantics, IReadOnlyList<string> Mids)
{
    public override string ToString() => Mids.Count == 0 ? Semantics : $"{Semantics} {string.Join(' ', Mids)}";

    public static bool TryParse(string? value, out SdpGroup? group)
    {
        group = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return false;
        }

        group = new SdpGroup(parts[0], parts[1..]);
        return true;
    }
}
