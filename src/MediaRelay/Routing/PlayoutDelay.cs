using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// Whether one hop loses packets now: losses are added to a score that halves every <see cref="HalfLife"/>; a hop whose
/// score reaches <see cref="Threshold"/> (two losses within a half-life) counts as lossy and stays so for <see cref="Hold"/> after its last loss, so one
/// stray loss does not change anything and a link that comes and goes does not flap.
/// </summary>
internal sealed class LossTracker
{
    public static readonly TimeSpan HalfLife = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan Hold = TimeSpan.FromSeconds(30);
    public const double Threshold = 1.5;

    private readonly Lock _lock = new();
    private double _score;
    private long _lastLoss;
    private long _lossyUntil;

    /// <summary>Records <paramref name="count"/> packets lost at <paramref name="now"/> (a <see cref="RoutingClock"/> timestamp).</summary>
    public void Record(int count, long now)
    {
        if (count <= 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_lastLoss != 0)
            {
                var elapsed = Math.Max(0, now - _lastLoss) / (double)Stopwatch.Frequency;
                _score *= Math.Pow(0.5, elapsed / HalfLife.TotalSeconds);
            }

            _score += count;
            _lastLoss = now;
            if (_score >= Threshold)
            {
                Volatile.Write(ref _lossyUntil, now + RoutingClock.TicksOf(Hold));
            }
        }
    }

    public bool IsLossy(long now) => now < Volatile.Read(ref _lossyUntil);
}

/// <summary>
/// How long a subscriber's browser should hold video before playing it, so that a packet lost on a lossy hop can be
/// repaired before its frame is due (RFC 4585 §3.2 NACK repair within a jitter buffer). Without it the browser plays frames as soon as they are
/// complete, and every repair — a NACK and a retransmission, one round trip of the lossy hop, two when the first
/// NACK or repair is lost too — shows as a frozen picture. The delay is sent to the browser in the
/// <c>playout-delay</c> RTP header extension (10 ms units, a minimum and a maximum of 12 bits each); a clean link gets
/// none, so it keeps the lowest latency.
/// </summary>
internal static class PlayoutDelayPolicy
{
    /// <summary>The most we ever ask for: beyond this a conversation suffers more from the delay than from a freeze.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromMilliseconds(500);

    /// <summary>The maximum we send with it: the browser's own default upper bound.</summary>
    public static readonly TimeSpan Upper = TimeSpan.FromSeconds(10);

    /// <summary>Decoding and rendering a frame also come out of the delay.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(40);

    /// <summary>
    /// The minimum playout delay for a subscriber: room for a repair and one retry on each lossy hop. The publisher's hop
    /// is measured by the repairs themselves (NACK → retransmission round trip, which our retry interval is 1.25× of);
    /// the subscriber's by its Receiver Reports (its NACK goes out as soon as it sees the gap and we answer at once, twice
    /// on a lossy link).
    /// </summary>
    public static TimeSpan Compute(bool publisherLossy, TimeSpan publisherRepairRoundTrip, bool subscriberLossy, TimeSpan subscriberRoundTrip)
    {
        var delay = TimeSpan.Zero;
        // Two and a half round trips a hop: the first repair, the retry when the NACK or the repair was lost too (we
        // retry after 1.25 round trips), and the loss of a frame's last packet is noticed only with the next frame.
        if (publisherLossy)
        {
            delay += publisherRepairRoundTrip * 2.5;
        }

        if (subscriberLossy)
        {
            delay += subscriberRoundTrip * 2.5;
        }

        if (delay == TimeSpan.Zero)
        {
            return delay;
        }

        delay += Margin;
        return delay > Max ? Max : delay;
    }

    /// <summary>
    /// The 3-byte extension value: minimum and maximum delay in 10 ms units, 12 bits each (the minimum rounded up so
    /// the repair still fits).
    /// </summary>
    public static void Write(Span<byte> destination, TimeSpan minimum, TimeSpan maximum)
    {
        var min = (int)Math.Clamp(Math.Ceiling(minimum.TotalMilliseconds / 10), 0, 0xFFF);
        var max = (int)Math.Clamp(Math.Floor(maximum.TotalMilliseconds / 10), min, 0xFFF);
        destination[0] = (byte)(min >> 4);
        destination[1] = (byte)(((min & 0xF) << 4) | (max >> 8));
        destination[2] = (byte)max;
    }
}
