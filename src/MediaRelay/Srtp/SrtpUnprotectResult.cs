namespace Teletherapy.MediaRelay.Srtp;

/// <summary>What became of an SRTP or SRTCP packet given to an inbound <see cref="SrtpContext"/>.</summary>
internal enum SrtpUnprotectResult
{
    /// <summary>Authenticated and decrypted.</summary>
    Ok,

    /// <summary>Too short for the profile, not RTP/RTCP, or the context is disposed.</summary>
    Malformed,

    /// <summary>Its tag did not verify: altered on the way, or not protected with this session's keys.</summary>
    AuthenticationFailed,

    /// <summary>Its index is inside the replay window and was already received (RFC 3711 §3.3.2).</summary>
    Replayed,

    /// <summary>Its index is left of the replay window (too old to tell whether it is a replay), or before the stream began.</summary>
    OutOfWindow,

    /// <summary>A new SSRC while the context already tracks <see cref="SrtpContext.MaxStreams"/>.</summary>
    TooManyStreams,
}
