using System.Globalization;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// <c>a=fmtp:&lt;pt&gt; &lt;parameters&gt;</c> (RFC 8866 §6.15). Most codecs use <c>key=value</c> pairs separated by
/// ';' (RTX's <c>apt=</c>, RFC 4588 §8.1); others do not (RED's <c>111/111</c>, DTMF's <c>0-15</c>), so the raw
/// text is kept and entries without '=' appear with an empty value.
/// </summary>
internal sealed record SdpFmtp(int PayloadType, string Parameters)
{
    public IReadOnlyList<KeyValuePair<string, string>> GetParameters()
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (string entry in Parameters.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = entry.IndexOf('=', StringComparison.Ordinal);
            result.Add(equals < 0
                ? new KeyValuePair<string, string>(entry, string.Empty)
                : new KeyValuePair<string, string>(entry[..equals].Trim(), entry[(equals + 1)..].Trim()));
        }

        return result;
    }

    /// <summary>Looks a parameter up; names are case-insensitive (RFC 4855 §3).</summary>
    public bool TryGetParameter(string name, out string value)
    {
        foreach (KeyValuePair<string, string> pair in GetParameters())
        {
            if (string.Equals(pair.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                value = pair.Value;
                return true;
            }
        }

        value = string.Empty;
        return false;
    }

    /// <summary>The associated payload type of an RTX format (RFC 4588 §8.1), or null.</summary>
    public int? AssociatedPayloadType =>
        TryGetParameter("apt", out string apt) && SdpNumbers.TryParsePayloadType(apt, out int pt) ? pt : null;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{PayloadType} {Parameters}");

    public static bool TryParse(string? value, out SdpFmtp? fmtp)
    {
        fmtp = null;
        if (value is null)
        {
            return false;
        }

        int space = value.IndexOf(' ', StringComparison.Ordinal);
        string format = space < 0 ? value : value[..space];
        if (!SdpNumbers.TryParsePayloadType(format, out int payloadType))
        {
            return false;
        }

        fmtp = new SdpFmtp(payloadType, space < 0 ? string.Empty : value[(space + 1)..]);
        return true;
    }
}
