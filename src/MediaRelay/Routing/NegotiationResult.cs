namespace Teletherapy.MediaRelay.Routing;

/// <summary>The outcome of an SDP step: the description to hand to the browser, or why there is none.</summary>
public sealed record NegotiationResult(string? Sdp, string? Error)
{
    public bool Succeeded => Sdp is not null;

    internal static NegotiationResult Ok(string sdp) => new(sdp, null);

    internal static NegotiationResult Fail(string error) => new(null, error);
}
