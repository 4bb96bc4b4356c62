using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// What the subscriber's Receiver Report blocks for one of our streams (RFC 3550 §6.4.2) say of its link: the loss in the
/// last report, the round trip, and the loss over windows of at least a second. <see cref="OnReport"/> and the
/// properties are safe on any thread; <see cref="CloseWindow"/> is used under the consumer's lock.
/// </summary>
internal sealed class SubscriberReports
{
    /// <summary>Per packet on top of the payload: RTP header with extensions, SRTP tag, UDP and IP, about 50 bytes.</summary>
    private const int PacketOverhead = 50;

    /// <summary>The round trip assumed until a report gives it.</summary>
    public static readonly TimeSpan AssumedRoundTrip = TimeSpan.FromMilliseconds(100);

    private int _fractionLost;
    private long _roundTrip = RoutingClock.TicksOf(AssumedRoundTrip);
    private long _windowStart;
    private long _windowSentBits;
    private long _windowSentPackets;
    private uint _windowHighest;
    private int _windowLost;

    /// <summary>The loss fraction of the last report (in 1/256, RFC 3550 §6.4.1).</summary>
    public int FractionLost => Volatile.Read(ref _fractionLost);

    /// <summary>The subscriber's round trip, smoothed (<see cref="AssumedRoundTrip"/> before the first report that gives it).</summary>
    public TimeSpan RoundTrip => TimeSpan.FromSeconds((double)Volatile.Read(ref _roundTrip) / Stopwatch.Frequency);

    /// <summary>
    /// A report block arrived at <paramref name="arrival"/>. When it answers a Sender Report of ours it also gives the
    /// round trip (RFC 3550 §6.4.1: arrival − LSR − DLSR, in 1/65536 s); samples of two seconds or more are ignored.
    /// </summary>
    public void OnReport(in ReportBlock block, DateTimeOffset arrival)
    {
        Volatile.Write(ref _fractionLost, block.FractionLost);
        if (block.LastSenderReport == 0)
        {
            return;
        }

        var roundTrip = NtpTime.Middle(NtpTime.From(arrival)) - block.LastSenderReport - block.DelaySinceLastSenderReport;
        if (roundTrip < 2 * 65536)
        {
            var sample = Math.Max(1, (long)roundTrip * Stopwatch.Frequency / 65536);
            var smoothed = Volatile.Read(ref _roundTrip);
            Volatile.Write(ref _roundTrip, smoothed + ((sample - smoothed) / 4));
        }
    }

    /// <summary>
    /// The subscriber's loss on this stream over a window of at least a second, from the cumulative counts of its reports
    /// (RFC 3550 §6.4.1: lost and extended highest sequence number), with the rate that arrived in it (packets received
    /// × the average size of what we sent meanwhile, overhead included); null until a report closes a window, or when
    /// nothing was expected in it. A single report's fraction can span a few packets (browsers report several times a
    /// second at high rates), so one dropped keyframe burst could read as 90 % loss; over a second it reads as what it was.
    /// <paramref name="octetsSent"/> and <paramref name="packetsSent"/> count what the stream sent so far.
    /// </summary>
    public LossWindow? CloseWindow(in ReportBlock block, long octetsSent, long packetsSent, long now)
    {
        var sentBits = (octetsSent + (packetsSent * PacketOverhead)) * 8;
        if (_windowStart == 0 || (int)(block.ExtendedHighestSequence - _windowHighest) < 0)
        {
            Open(block, sentBits, packetsSent, now);
            return null;
        }

        if (now - _windowStart < Stopwatch.Frequency)
        {
            return null;
        }

        long expected = (int)(block.ExtendedHighestSequence - _windowHighest);
        long lost = block.CumulativeLost - _windowLost;
        var packets = packetsSent - _windowSentPackets;
        var bits = sentBits - _windowSentBits;
        var start = _windowStart;
        Open(block, sentBits, packetsSent, now);
        if (expected <= 0)
        {
            return null;
        }

        var received = packets > 0 ? Math.Max(0, expected - lost) * (bits / packets) * Stopwatch.Frequency / (now - start) : 0;
        return new LossWindow((int)Math.Clamp(lost * 256 / expected, 0, 255), received, start);
    }

    private void Open(in ReportBlock block, long sentBits, long sentPackets, long now)
    {
        (_windowStart, _windowHighest, _windowLost) = (now, block.ExtendedHighestSequence, block.CumulativeLost);
        (_windowSentBits, _windowSentPackets) = (sentBits, sentPackets);
    }
}
