namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// <c>a=rid:&lt;id&gt; send|recv [&lt;restrictions&gt;]</c> (RFC 8851 §4): names an RTP stream, e.g. one simulcast
/// encoding, matched with the rtp-stream-id header extension.
/// </summary>
internal sealed record SdpRid(string Id, bool IsSend, string? Restrictions = null)
{
    public override string ToString()
    {
        string direction = IsSend ? "send" : "recv";
        return Restrictions is null ? $"{Id} {direction}" : $"{Id} {direction} {Restrictions}";
    }

    public static bool TryParse(string? value, out SdpRid? rid)
    {
        rid = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || parts[1] is not ("send" or "recv"))
        {
            return false;
        }

        rid = new SdpRid(parts[0], parts[1] == "send", parts.Length == 3 ? parts[2] : null);
        return true;
    }
}
