namespace Teletherapy.MediaRelay.Ice;

/// <summary>What the ICE-lite agent did with an incoming STUN message.</summary>
internal enum IceCheckOutcome
{
    /// <summary>Not something a lite agent answers (indication, response, failed FINGERPRINT): dropped silently.</summary>
    Ignored,

    /// <summary>A valid check: a success response was written, consent refreshed.</summary>
    Accepted,

    /// <summary>A valid check carrying USE-CANDIDATE: the pair it arrived on is nominated.</summary>
    Nominated,

    /// <summary>A bad check: an error response (400, 401 or 487) was written.</summary>
    Rejected,
}
