using Microsoft.AspNetCore.SignalR;
using Teletherapy.Signaling.Abuse;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// What participants may send beyond the join rules: a connection-test report in the shape the page makes (it is
/// shown to the therapists), and a bounded number of publish offers while still waiting (each one costs the relay).
/// A refusal fails the call with a reason and changes nothing.
/// </summary>
internal static class SessionInputs
{
    /// <summary>Publish offers a participant may make before being admitted (the first, plus camera or microphone changes).</summary>
    public const int OffersWhileWaiting = 5;

    private static readonly string[] Verdicts = ["good", "fair", "poor", "failed"];

    /// <summary>Throws <c>invalid-connection-check</c> unless the report has a known verdict and numbers in range.</summary>
    public static void CheckReport(ConnectionCheckSummary? summary)
    {
        var valid = summary is not null
            && Verdicts.Contains(summary.Verdict, StringComparer.Ordinal)
            && summary.RoundTripMs is null or (>= 0 and <= 60_000)
            && (summary.LossPercent is null || (double.IsFinite(summary.LossPercent.Value) && summary.LossPercent.Value is >= 0 and <= 100))
            && summary.BitrateKbps is null or (>= 0 and <= 1_000_000);
        if (!valid)
        {
            Refuse("invalid-connection-check");
        }
    }

    /// <summary>
    /// Throws <c>too-many-offers</c> when a participant not admitted made more than <see cref="OffersWhileWaiting"/>
    /// offers (<see cref="SessionRoom.CountOfferWhileWaiting"/>, which starts again at admission).
    /// </summary>
    public static void CheckOffersWhileWaiting(int offers)
    {
        if (offers > OffersWhileWaiting)
        {
            Refuse("too-many-offers");
        }
    }

    private static void Refuse(string reason)
    {
        Throttling.LimitsHit.WithLabels(reason).Inc();
        throw new HubException(reason);
    }
}
