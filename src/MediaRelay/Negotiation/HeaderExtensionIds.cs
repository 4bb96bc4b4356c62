namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>
/// The RFC 8285 extension ids one peer negotiated (0 = not negotiated). Ids differ between peers and
/// even between offers of one browser, so they are always read from the SDP, never assumed.
/// </summary>
internal sealed record HeaderExtensionIds
{
    public int Mid { get; init; }

    public int RtpStreamId { get; init; }

    public int RepairedRtpStreamId { get; init; }

    public int AbsSendTime { get; init; }

    public int TransportWideCc { get; init; }

    public int AudioLevel { get; init; }

    /// <summary>playout-delay: the minimum and maximum time the receiver holds video before playing it (we send it).</summary>
    public int PlayoutDelay { get; init; }

    public static HeaderExtensionIds None { get; } = new();
}
