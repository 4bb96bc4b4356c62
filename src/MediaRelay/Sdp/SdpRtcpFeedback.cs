namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// <c>a=rtcp-fb:&lt;pt|*&gt; &lt;type&gt; [&lt;parameter&gt;]</c> (RFC 4585 §4.2), e.g. <c>nack</c>, <c>nack pli</c>,
/// <c>ccm fir</c> (RFC 5104 §7.1), <c>goog-remb</c>, <c>transport-cc</c>.
/// </summary>
internal sealed record SdpRtcpFeedback(string PayloadType, string Type, string? Parameter = null)
{
    public const string Wildcard = "*";

    public bool AppliesTo(int payloadType) =>
        PayloadType == Wildcard || PayloadType == payloadType.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public override string ToString() => Parameter is null ? $"{PayloadType} {Type}" : $"{PayloadType} {Type} {Parameter}";

    public static bool TryParse(string? value, out SdpRtcpFeedback? feedback)
    {
        feedback = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || (parts[0] != Wildcard && !SdpNumbers.TryParsePayloadType(parts[0], out _)))
        {
            return false;
        }

        feedback = new SdpRtcpFeedback(parts[0], parts[1], parts.Length == 3 ? parts[2] : null);
        return true;
    }
}
