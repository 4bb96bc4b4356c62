namespace Teletherapy.MediaRelay.Routing;

/// <summary>The outcome of an SDP step: the description to hand to the browser, or why there is none.</summary>
public sealed record NegotiationResult(string? Sdp, string? Error)
{
    public bool Succeeded => Sdp is not null;

    /// <summary>
    /// When a relay cap refused the step, which one (a <see cref="MediaLimits"/> name); null for an SDP that is merely
    /// invalid. Either way <see cref="Error"/> says why in words fit for the caller.
    /// </summary>
    public string? Limit { get; init; }

    internal static NegotiationResult Ok(string sdp) => new(sdp, null);

    internal static NegotiationResult Fail(string error) => new(null, error);

    /// <summary>A refusal by a cap, counted in <c>teletherapy_relay_limits_hit_total</c>.</summary>
    internal static NegotiationResult Refused(string limit, string error)
    {
        RelayMetrics.LimitHit(limit).Inc();
        return new(null, error) { Limit = limit };
    }
}
