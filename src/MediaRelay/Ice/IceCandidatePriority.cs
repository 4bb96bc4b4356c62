namespace Teletherapy.MediaRelay.Ice;

/// <summary>Candidate priority (RFC 8445 §5.1.2.1): 2^24·type preference + 2^8·local preference + (256 − component).</summary>
internal static class IceCandidatePriority
{
    /// <summary>Host candidates get the highest type preference (RFC 8445 §5.1.2.2).</summary>
    public const int HostTypePreference = 126;

    /// <summary>Peer-reflexive, used by a controlling agent in the PRIORITY of its checks (RFC 8445 §7.1.1).</summary>
    public const int PeerReflexiveTypePreference = 110;

    public static uint Compute(int typePreference, int localPreference, int component = 1) =>
        (uint)((typePreference << 24) + (localPreference << 8) + (256 - component));
}
