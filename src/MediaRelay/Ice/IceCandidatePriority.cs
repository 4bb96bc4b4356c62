namespace Teletherapy.MediaRelay.Ice;

/// <summary>Candidate priority (RFC 8445 §5.1.2.1): 2^24·type preference + 2^8·local preference + (256 − component).</summary>
internal static class IceCandidatePriority
{
    /// <summary>Host candidates get the highest type preference (RFC 8445 §5.1.2.2).</summary>
    public const int HostTypePreference = 126;

    /// <summary>Peer-reflexive, used by a controlling agent in the PRIORITY of its checks (RFC 8445 §7.1.1).</summary>
    public const int PeerReflexiveTypePreference = 110;

    /// <summary>
    /// How much lower the local preference of our passive ICE-TCP candidate is than the UDP one of the same address,
    /// so browsers use TCP only when UDP fails (RFC 8445 §5.1.2, RFC 6544 §4.2).
    /// </summary>
    public const int TcpLocalPreferencePenalty = 4096;

    public static uint Compute(int typePreference, int localPreference, int component = 1) =>
        (uint)((typePreference << 24) + (localPreference << 8) + (256 - component));

    /// <summary>
    /// The priority of our host candidate on the <paramref name="addressIndex"/>-th announced address: UDP, or
    /// passive ICE-TCP <see cref="TcpLocalPreferencePenalty"/> below it.
    /// </summary>
    public static uint Host(bool tcp, int addressIndex = 0) =>
        Compute(HostTypePreference, 65535 - addressIndex - (tcp ? TcpLocalPreferencePenalty : 0));

    /// <summary>
    /// Candidate pair priority (RFC 8445 §6.1.2.3): 2^32·MIN(G,D) + 2·MAX(G,D) + (G &gt; D ? 1 : 0), where G is the
    /// controlling agent's candidate priority and D the controlled agent's.
    /// </summary>
    public static ulong Pair(uint controlling, uint controlled) =>
        ((ulong)Math.Min(controlling, controlled) << 32)
        + (2UL * Math.Max(controlling, controlled))
        + (controlling > controlled ? 1UL : 0UL);
}
