using System.Globalization;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// <c>a=extmap:&lt;id&gt;[/&lt;direction&gt;] &lt;uri&gt; [&lt;attributes&gt;]</c> (RFC 8285 §8): the local id of an
/// RTP header extension, 1-14 for one-byte and up to 255 for two-byte elements.
/// </summary>
internal sealed record SdpExtMap(int Id, string Uri, SdpDirection? Direction = null, string? ExtensionAttributes = null)
{
    public const string MidUri = "urn:ietf:params:rtp-hdrext:sdes:mid";
    public const string RtpStreamIdUri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    public const string RepairedRtpStreamIdUri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    public const string AbsSendTimeUri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    public const string TransportWideCcUri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    public const string AudioLevelUri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    public const string PlayoutDelayUri = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

    public override string ToString()
    {
        string id = Direction is { } direction
            ? string.Create(CultureInfo.InvariantCulture, $"{Id}/{direction.ToAttributeName()}")
            : Id.ToString(CultureInfo.InvariantCulture);
        return ExtensionAttributes is null ? $"{id} {Uri}" : $"{id} {Uri} {ExtensionAttributes}";
    }

    public static bool TryParse(string? value, out SdpExtMap? extMap)
    {
        extMap = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            return false;
        }

        string idText = parts[0];
        SdpDirection? direction = null;
        int slash = idText.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (!SdpDirectionNames.TryParse(idText[(slash + 1)..], out SdpDirection parsed))
            {
                return false;
            }

            direction = parsed;
            idText = idText[..slash];
        }

        if (!int.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id is < 1 or > 255)
        {
            return false;
        }

        extMap = new SdpExtMap(id, parts[1], direction, parts.Length == 3 ? parts[2] : null);
        return true;
    }
}
