namespace Teletherapy.MediaRelay.Sdp;

/// <summary><c>a=fingerprint:&lt;hash-func&gt; &lt;hex&gt;</c> (RFC 8122 §5), the DTLS certificate's hash.</summary>
internal sealed record SdpFingerprint(string Algorithm, string Value)
{
    public override string ToString() => $"{Algorithm} {Value}";

    public static bool TryParse(string? value, out SdpFingerprint? fingerprint)
    {
        fingerprint = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
        {
            return false;
        }

        fingerprint = new SdpFingerprint(parts[0], parts[1]);
        return true;
    }
}
