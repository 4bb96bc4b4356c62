using System.Globalization;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// <c>a=ssrc-group:&lt;semantics&gt; &lt;ssrc&gt;...</c> (RFC 5576 §4.2): FID pairs a media SSRC with its RTX
/// SSRC (RFC 4588 §8), SIM lists simulcast SSRCs.
/// </summary>
internal sealed record SdpSsrcGroup(string Semantics, IReadOnlyList<uint> Ssrcs)
{
    public override string ToString() =>
        Ssrcs.Count == 0 ? Semantics : $"{Semantics} {string.Join(' ', Ssrcs.Select(s => s.ToString(CultureInfo.InvariantCulture)))}";

    public static bool TryParse(string? value, out SdpSsrcGroup? group)
    {
        group = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            return false;
        }

        var ssrcs = new uint[parts.Length - 1];
        for (int i = 1; i < parts.Length; i++)
        {
            if (!SdpNumbers.TryParseUInt32(parts[i], out ssrcs[i - 1]))
            {
                return false;
            }
        }

        group = new SdpSsrcGroup(parts[0], ssrcs);
        return true;
    }
}
