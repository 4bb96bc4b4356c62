namespace Teletherapy.MediaRelay.Sdp;

/// <summary>Media direction attributes (RFC 8866 §6.7); sendrecv is the default when none is given.</summary>
internal enum SdpDirection
{
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// <summary>Conversions between <see cref="SdpDirection"/> and its attribute names.</summary>
internal static class SdpDirectionNames
{
    public static string ToAttributeName(this SdpDirection direction) => direction switch
    {
        SdpDirection.SendOnly => "sendonly",
        SdpDirection.RecvOnly => "recvonly",
        SdpDirection.Inactive => "inactive",
        _ => "sendrecv",
    };

    public static bool TryParse(string? name, out SdpDirection direction)
    {
        switch (name)
        {
            case "sendrecv":
                direction = SdpDirection.SendRecv;
                return true;
            case "sendonly":
                direction = SdpDirection.SendOnly;
                return true;
            case "recvonly":
                direction = SdpDirection.RecvOnly;
                return true;
            case "inactive":
                direction = SdpDirection.Inactive;
                return true;
            default:
                direction = SdpDirection.SendRecv;
                return false;
        }
    }
}
