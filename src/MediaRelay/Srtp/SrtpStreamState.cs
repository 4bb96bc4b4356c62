namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// What an <see cref="SrtpContext"/> remembers about one SSRC: for RTP the highest index (ROC and s_l)
/// and the replay window; for SRTCP the replay window over the 31-bit index and, when sending, the next index.
/// </summary>
internal sealed class SrtpStreamState
{
    public SrtpReplayWindow Window;

    /// <summary>Next SRTCP index to send (RFC 3711 §3.4: starts at 0, increments per packet, 31 bits).</summary>
    public uint NextRtcpIndex;
}
