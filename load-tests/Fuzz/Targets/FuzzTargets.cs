namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>Every parser of untrusted bytes in the relay, one target each (README "Reliability").</summary>
internal static class FuzzTargets
{
    public static readonly string[] Names = ["stun", "rtp", "rtcp", "sdp", "dtls", "rfc4571", "vp8", "srtp"];

    public static FuzzTarget Create(string name, Corpus? corpus = null) => name switch
    {
        "stun" => new StunTarget(corpus),
        "rtp" => new RtpTarget(),
        "rtcp" => new RtcpTarget(),
        "sdp" => new SdpTarget(),
        "dtls" => new DtlsTarget(),
        "rfc4571" => new Rfc4571Target(),
        "vp8" => new Vp8Target(),
        "srtp" => new SrtpTarget(),
        _ => throw new ArgumentException($"No fuzz target '{name}'; there are: {string.Join(", ", Names)}.", nameof(name)),
    };
}
