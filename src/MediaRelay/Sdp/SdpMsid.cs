namespace Teletherapy.MediaRelay.Sdp;

/// <summary><c>a=msid:&lt;stream id&gt; [&lt;track id&gt;]</c> (RFC 8830 §2); "-" means no stream.</summary>
internal sealed record SdpMsid(string StreamId, string? TrackId)
{
    public override string ToString() => TrackId is null ? StreamId : $"{StreamId} {TrackId}";

    public static bool TryParse(string? value, out SdpMsid? msid)
    {
        msid = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2)
        {
            return false;
        }

        msid = new SdpMsid(parts[0], parts.Length == 2 ? parts[1] : null);
        return true;
    }
}
