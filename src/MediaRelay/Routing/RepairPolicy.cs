namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// How much of a subscriber's link a consumer's repairs (retransmissions answering its NACKs, RFC 4585 §6.2.1) may take,
/// when a repair goes out twice, and how long a producer keeps its packets for them.
/// </summary>
internal static class RepairPolicy
{
    /// <summary>
    /// Loss fraction (in 1/256, RFC 3550 §6.4.1) from which repairs are sent twice: 1 %. Only up to the loss that means
    /// congestion (<see cref="BandwidthAllocator.CongestionLoss"/>): on a full link a second copy only adds to the queue.
    /// </summary>
    public const int LossForDoubleRepair = 3;

    /// <summary>
    /// Repairs may add at most this share of the current layer's rate (<see cref="RepairBudget"/>): at 5 % random loss,
    /// repairs sent twice use a fifth of it; on a congested link, where the subscriber NACKs most of what we send and
    /// each repair is as likely to be dropped, answering every NACK would double the load on the link that is full.
    /// </summary>
    public const double RepairShare = 0.5;

    /// <summary>The repair budget never falls below this (bit/s): a low layer's keyframe must still be repairable.</summary>
    public const long MinRepairRate = 96_000;

    /// <summary>The rate (bit/s) a consumer's <see cref="RepairBudget"/> fills at while it forwards a layer of <paramref name="layerBitrate"/>.</summary>
    public static long BudgetRate(long layerBitrate) => Math.Max(MinRepairRate, (long)(layerBitrate * RepairShare));

    /// <summary>
    /// Whether a repair goes out twice, by the loss the subscriber reported last: on a link that loses packets, losing the
    /// repair too would cost another NACK round trip, and with it a frozen frame. At 5 % loss that is 5 % more repair traffic.
    /// </summary>
    public static bool SendTwice(int fractionLost) => fractionLost >= LossForDoubleRepair && fractionLost < BandwidthAllocator.CongestionLoss;

    /// <summary>A packet stays repairable at least this long, however short the subscribers' round trips.</summary>
    public static readonly TimeSpan MinStorage = TimeSpan.FromMilliseconds(250);

    /// <summary>And at most this long: an older packet is of no use to a receiver's jitter buffer.</summary>
    public static readonly TimeSpan MaxStorage = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Time for a subscriber to notice a loss: the next packet shows the gap, a frame or two later at video's rates, and
    /// a browser may wait for reordering before it asks.
    /// </summary>
    public static readonly TimeSpan NoticeTime = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// How long a producer's retransmission buffer keeps each packet, from the longest round trip among its subscribers
    /// (<see cref="Consumer.SubscriberRoundTrip"/>): time to notice the loss, then a NACK and two more asked a round trip
    /// apart (RFC 4588 §6.3), each answered within that round trip; between <see cref="MinStorage"/> and
    /// <see cref="MaxStorage"/>. A second for every stream would hold four times what a LAN or a city's links ask for.
    /// </summary>
    public static TimeSpan StorageWindow(TimeSpan longestRoundTrip)
    {
        var roundTrip = longestRoundTrip < TimeSpan.Zero ? TimeSpan.Zero : longestRoundTrip > MaxStorage ? MaxStorage : longestRoundTrip;
        var window = NoticeTime + (3 * roundTrip);
        return window < MinStorage ? MinStorage : window > MaxStorage ? MaxStorage : window;
    }
}
