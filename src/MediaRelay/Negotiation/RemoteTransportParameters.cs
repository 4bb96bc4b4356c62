using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>The remote side's ICE credentials, DTLS fingerprint and role, read from its SDP (session or first m-line level).</summary>
internal sealed record RemoteTransportParameters(string IceUfrag, string IcePassword, SdpFingerprint Fingerprint, string Setup)
{
    public static bool TryRead(SessionDescription description, out RemoteTransportParameters? remote, out string? error)
    {
        remote = null;
        var first = description.Media.FirstOrDefault(m => m.Port != 0 || m.BundleOnly) ?? description.Media.FirstOrDefault();
        var ufrag = first?.IceUfrag ?? description.IceUfrag;
        var pwd = first?.IcePwd ?? description.IcePwd;
        var fingerprint = first?.Fingerprint ?? description.Fingerprint;
        var setup = first?.Setup ?? description.Setup ?? "actpass";
        // RFC 8839 §5.4: ufrag 4–256 and pwd 22–256 ice-chars.
        if (ufrag is null || ufrag.Length < 4 || pwd is null || pwd.Length < 22)
        {
            error = "The description has no valid a=ice-ufrag / a=ice-pwd.";
            return false;
        }

        if (fingerprint is null)
        {
            error = "The description has no a=fingerprint: DTLS-SRTP cannot be verified.";
            return false;
        }

        if (setup is not ("actpass" or "active" or "passive"))
        {
            error = $"a=setup:{setup} is not valid.";
            return false;
        }

        remote = new RemoteTransportParameters(ufrag, pwd, fingerprint, setup);
        error = null;
        return true;
    }
}
