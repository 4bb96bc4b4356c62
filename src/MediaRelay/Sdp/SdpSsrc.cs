using System.Globalization;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary><c>a=ssrc:&lt;ssrc&gt; &lt;attribute&gt;[:&lt;value&gt;]</c> (RFC 5576 §4.1), e.g. <c>cname:…</c>.</summary>
internal sealed record SdpSsrc(uint Ssrc, string Attribute, string? Value = null)
{
    public override string ToString() => Value is null
        ? string.Create(CultureInfo.InvariantCulture, $"{Ssrc} {Attribute}")
        : string.Create(CultureInfo.InvariantCulture, $"{Ssrc} {Attribute}:{Value}");

    public static bool TryParse(string? value, out SdpSsrc? ssrc)
    {
        ssrc = null;
        if (value is null)
        {
            return false;
        }

        int space = value.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || !SdpNumbers.TryParseUInt32(value[..space], out uint id))
        {
            return false;
        }

        string attribute = value[(space + 1)..];
        int colon = attribute.IndexOf(':', StringComparison.Ordinal);
        string name = colon < 0 ? attribute : attribute[..colon];
        if (name.Length == 0)
        {
            return false;
        }

        ssrc = new SdpSsrc(id, name, colon < 0 ? null : attribute[(colon + 1)..]);
        return true;
    }
}
