using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The receiver half of transport-wide congestion control on a publish connection
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3): records the arrival time of every packet by the
/// transport-wide sequence number the browser put in it (§2) and, every <see cref="FeedbackInterval"/>, writes the
/// feedback (205/15) that lets the browser's send-side estimator see the path's delay and loss and raise its rate.
/// Without it Chrome's estimate stays near its start value (draft-holmer-rmcat-transport-wide-cc-extensions-01).
/// One instance per transport; called on its receive thread, no allocation after construction.
/// </summary>
internal sealed class TransportWideFeedbackRecorder
{
    /// <summary>libwebrtc's receivers send feedback every 50–250 ms depending on rate; 50 ms keeps the estimator responsive.</summary>
    public static readonly long FeedbackInterval = Stopwatch.Frequency / 20;

    /// <summary>Packets reported by one feedback at most; more are split so a packet stays well under the MTU.</summary>
    public const int MaxPacketsPerFeedback = 256;

    private const int Window = 1024;
    private const int Mask = Window - 1;

    private readonly long[] _arrivals = new long[Window];
    private readonly TransportWideArrival[] _batch = new TransportWideArrival[MaxPacketsPerFeedback];
    private long _base = -1;
    private long _highest = -1;
    private long _lastFeedback;
    private byte _feedbackCount;

    /// <summary>Records one arrival. <paramref name="arrival"/> is a <see cref="RoutingClock"/> timestamp.</summary>
    public void OnPacket(ushort transportSequence, long arrival)
    {
        // Split before scaling: ticks × 10^6 overflows a long after ~2.5 h of uptime when ticks are nanoseconds.
        var microseconds = (arrival / Stopwatch.Frequency * 1_000_000) + (arrival % Stopwatch.Frequency * 1_000_000 / Stopwatch.Frequency);
        if (_highest < 0)
        {
            _base = _highest = transportSequence;
            _arrivals[transportSequence & Mask] = microseconds;
            return;
        }

        // Unwrap the 16-bit number against the highest seen (a difference of less than half the space is forward).
        var extended = _highest + (short)(transportSequence - (ushort)_highest);
        if (extended < _base)
        {
            return; // already reported as lost; a feedback cannot take it back
        }

        if (extended > _highest)
        {
            for (var s = _highest + 1; s <= extended && s - _highest <= Window; s++)
            {
                _arrivals[s & Mask] = -1;
            }

            _highest = extended;
            if (_highest - _base >= Window)
            {
                _base = _highest - Window + 1; // a long gap: what fell out of the window is not reported
            }
        }

        _arrivals[extended & Mask] = microseconds;
    }

    /// <summary>True when a feedback is due (interval passed, or the batch is full).</summary>
    public bool IsDue(long now) => _highest >= _base && _base >= 0 && (now - _lastFeedback >= FeedbackInterval || _highest - _base + 1 >= MaxPacketsPerFeedback);

    /// <summary>
    /// Writes the next feedback into <paramref name="destination"/> and returns its length (0 when nothing was
    /// received since the last). The first received packet is the base (the writer's contract); packets lost before
    /// it in this interval are left out rather than reported, which the sender treats as unacknowledged.
    /// </summary>
    public int WriteFeedback(Span<byte> destination, uint senderSsrc, uint mediaSsrc, long now)
    {
        if (_base < 0)
        {
            return 0;
        }

        _lastFeedback = now;
        var count = 0;
        var s = _base;
        for (; s <= _highest && count < MaxPacketsPerFeedback; s++)
        {
            var arrival = _arrivals[s & Mask];
            if (arrival >= 0)
            {
                _batch[count++] = new TransportWideArrival((ushort)s, arrival);
            }
        }

        _base = s;
        if (count == 0)
        {
            return 0;
        }

        return TransportWideFeedback.Write(destination, senderSsrc, mediaSsrc, _feedbackCount++, _batch.AsSpan(0, count));
    }
}
