namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// A description line other than v=, o=, s=, m= and a= (for example c=, b=, t=), kept verbatim in order
/// (RFC 8866 §5).
/// </summary>
internal readonly record struct SdpLine(char Type, string Value)
{
    public override string ToString() => $"{Type}={Value}";
}
