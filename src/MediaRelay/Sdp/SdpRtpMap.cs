using System.Globalization;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// <c>a=rtpmap:&lt;pt&gt; &lt;encoding&gt;/&lt;clock rate&gt;[/&lt;channels&gt;]</c> (RFC 8866 §6.6). Encoding names are
/// case-insensitive (RFC 4855 §3); GStreamer writes <c>OPUS</c> and <c>VP8</c> where Chrome writes <c>opus</c>.
/// </summary>
internal sealed record SdpRtpMap(int PayloadType, string EncodingName, int ClockRate, int? Channels = null)
{
    public bool IsCodec(string name) => string.Equals(EncodingName, name, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Channels is { } channels
        ? string.Create(CultureInfo.InvariantCulture, $"{PayloadType} {EncodingName}/{ClockRate}/{channels}")
        : string.Create(CultureInfo.InvariantCulture, $"{PayloadType} {EncodingName}/{ClockRate}");

    public static bool TryParse(string? value, out SdpRtpMap? rtpMap)
    {
        rtpMap = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !SdpNumbers.TryParsePayloadType(parts[0], out int payloadType))
        {
            return false;
        }

        string[] encoding = parts[1].Split('/');
        if (encoding.Length is < 2 or > 3
            || encoding[0].Length == 0
            || !int.TryParse(encoding[1], NumberStyles.None, CultureInfo.InvariantCulture, out int clockRate))
        {
            return false;
        }

        int? channels = null;
        if (encoding.Length == 3)
        {
            if (!int.TryParse(encoding[2], NumberStyles.None, CultureInfo.InvariantCulture, out int parsed))
            {
                return false;
            }

            channels = parsed;
        }

        rtpMap = new SdpRtpMap(payloadType, encoding[0], clockRate, channels);
        return true;
    }
}
