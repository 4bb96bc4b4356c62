using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// Watches a climb (a consumer's move up to a higher simulcast layer) through its subscriber's NACKs. A link that cannot
/// carry the new layer shows within a round trip or two as NACKs for a good share of it, long before a Receiver Report
/// window closes: the climb is then marked failed, for the subscriber's <see cref="BandwidthAllocator"/> to undo at once.
/// Not thread-safe: used under the consumer's lock, but for <see cref="TakeFailure"/>.
/// </summary>
internal sealed class ClimbWatcher
{
    /// <summary>How long after a climb the subscriber's NACKs are watched for its failure.</summary>
    public static readonly long Watch = 2 * Stopwatch.Frequency;

    /// <summary>A climb fails when the subscriber NACKs this share of what the new layer sent (after <see cref="MinPackets"/>).</summary>
    public const double FailedShare = 0.25;

    /// <summary>Fewer packets sent on the new layer say too little.</summary>
    public const int MinPackets = 20;

    private long _since;
    private int _sent;
    private int _nacked;
    private int _failed;

    /// <summary>The encoding the last climb started from (<see cref="Consumer.Paused"/> before the first).</summary>
    public int From { get; private set; } = Consumer.Paused;

    /// <summary>A climb is being watched: it neither failed, nor held past <see cref="Watch"/>, nor was given up.</summary>
    public bool IsWatching => _since != 0;

    /// <summary>Starts watching a climb from <paramref name="from"/> that completed at <paramref name="since"/> (<see cref="RoutingClock"/>).</summary>
    public void Start(int from, long since) => (From, _since, _sent, _nacked) = (from, since, 0, 0);

    /// <summary>Stops watching: the target changed again.</summary>
    public void Stop() => _since = 0;

    /// <summary>A packet of the new layer went out.</summary>
    public void OnSent()
    {
        if (_since != 0)
        {
            _sent++;
        }
    }

    /// <summary>
    /// The first NACK for a packet sent since the climb, at <paramref name="now"/>. The first NACK after
    /// <see cref="Watch"/> ends the watch: the climb held.
    /// </summary>
    public void OnNacked(long now)
    {
        if (_since == 0)
        {
            return;
        }

        if (now - _since > Watch)
        {
            _since = 0;
            return;
        }

        _nacked++;
        if (_sent >= MinPackets && _nacked >= _sent * FailedShare)
        {
            _since = 0;
            Volatile.Write(ref _failed, 1);
        }
    }

    /// <summary>Whether a climb failed since the last call. Safe without the consumer's lock.</summary>
    public bool TakeFailure() => Interlocked.Exchange(ref _failed, 0) != 0;
}
