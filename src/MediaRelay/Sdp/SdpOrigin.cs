using System.Globalization;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary>The <c>o=</c> line (RFC 8866 §5.2); the session version grows with every renegotiated offer.</summary>
internal sealed record SdpOrigin(string Username, ulong SessionId, ulong SessionVersion, string NetworkType, string AddressType, string Address)
{
    public static SdpOrigin Default { get; } = new("-", 0, 0, "IN", "IP4", "0.0.0.0");

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Username} {SessionId} {SessionVersion} {NetworkType} {AddressType} {Address}");

    public static bool TryParse(string value, out SdpOrigin? origin)
    {
        origin = null;
        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 6
            || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong id)
            || !ulong.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong version))
        {
            return false;
        }

        origin = new SdpOrigin(parts[0], id, version, parts[3], parts[4], parts[5]);
        return true;
    }
}
