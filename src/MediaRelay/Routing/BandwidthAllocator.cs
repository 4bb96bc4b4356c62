using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// Chooses, for one subscriber, which simulcast layer of each video track it receives, from the bandwidth estimate
/// its browser reports (REMB, draft-alvestrand-rmcat-remb-03). Layers are ranked by the bitrate each encoding
/// actually arrives with, so an encoding the publisher switched off is never chosen.
/// <para>
/// A REMB estimate only falls on congestion (the receiver's delay-based detector saw over-use: it then reports
/// 0.85 × what arrived) and otherwise rises slowly, never above 1.5 × what arrives. So a fall is the signal to go
/// down, and going up cannot wait for the estimate to exceed the next layer's rate: after a quiet hold time the
/// subscriber is moved up one layer as a probe; a fall soon after shows the probe failed, and the next hold is
/// doubled (bounded). Below the lowest layer's rate the subscriber falls back to audio only and probes its way
/// back the same way.
/// </para>
/// Called on the subscriber's RTCP (receive thread) and once a second from housekeeping: one lock, not per packet.
/// </summary>
internal sealed class BandwidthAllocator
{
    /// <summary>A REMB at least this much lower than the last one is an over-use signal (Chrome sends at once on a 3 % fall).</summary>
    private const double DecreaseRatio = 0.97;

    /// <summary>Go down when what is left for a track is below this share of its current layer's rate.</summary>
    private const double DownRatio = 0.75;

    private static readonly long MinProbeHold = 2 * Stopwatch.Frequency;

    /// <summary>
    /// The longest wait between failed probes. Climbing back from audio only takes up to three probes once a cap is
    /// lifted, so this bounds recovery to about three holds; shorter would spend more time over a real cap.
    /// </summary>
    private static readonly long MaxProbeHold = 4 * Stopwatch.Frequency;

    /// <summary>Loss (in 1/256) that signals congestion: 10 %. Random loss of a few percent is repaired, not fled from.</summary>
    private const int HeavyLoss = 26;

    /// <summary>Below this share of the lowest layer's rate only audio goes: the picture would freeze anyway, and sound must get through.</summary>
    private const double AudioOnlyRatio = 0.5;

    /// <summary>After going down, the estimate needs a moment to see the lower rate arrive; falls within it are its echo, not new congestion.</summary>
    private static readonly long SettleAfterDown = 2 * Stopwatch.Frequency;

    /// <summary>A fall within this time after a probe blames the probe.</summary>
    private static readonly long ProbeVerdict = 4 * Stopwatch.Frequency;

    private readonly Lock _lock = new();
    private long _estimate;
    private long _lastChange;
    private long _lastDecrease;
    private long _lastProbe;
    private long _lastDown;
    private int _loss;
    private long _probeHold = MinProbeHold;

    /// <summary>The last estimate in bit/s; 0 before the first.</summary>
    public long EstimatedBitrate => Volatile.Read(ref _estimate);

    /// <summary>Records an estimate; true when it fell (an over-use signal).</summary>
    public bool OnEstimate(long bitrate, long now)
    {
        lock (_lock)
        {
            var decreased = _estimate > 0 && bitrate < _estimate * DecreaseRatio;
            Volatile.Write(ref _estimate, bitrate);
            if (decreased)
            {
                if (_lastProbe != 0 && now - _lastProbe < ProbeVerdict)
                {
                    _probeHold = Math.Min(MaxProbeHold, _probeHold * 2);
                    _lastProbe = 0;
                }

                _lastDecrease = now;
            }

            return decreased;
        }
    }

    /// <summary>
    /// The subscriber's Receiver Report loss fraction for our video (RFC 3550 §6.4.1, in 1/256). A full token bucket
    /// keeps the queueing delay constant, so the delay-based REMB stops falling while the bucket drops what does not fit:
    /// heavy loss is then the only sign of congestion. Returns true when it counts as one (like a falling estimate).
    /// </summary>
    public bool OnLoss(int fractionLost, long now)
    {
        lock (_lock)
        {
            Volatile.Write(ref _loss, fractionLost);
            if (fractionLost < HeavyLoss)
            {
                return false;
            }

            if (_lastProbe != 0 && now - _lastProbe < ProbeVerdict)
            {
                _probeHold = Math.Min(MaxProbeHold, _probeHold * 2);
                _lastProbe = 0;
            }

            _lastDecrease = now;
            return true;
        }
    }

    /// <summary>Sets each video consumer's target encoding for the current estimate.</summary>
    public void Allocate(IEnumerable<Consumer> consumers, long now, bool decreased)
    {
        lock (_lock)
        {
            long audio = 0;
            var videos = 0;
            foreach (var consumer in consumers)
            {
                if (consumer.IsClosed)
                {
                    continue;
                }

                if (consumer.Parameters.Kind == MediaKind.Audio)
                {
                    audio += consumer.Producer.GetEncodingBitrate(0);
                }
                else
                {
                    videos++;
                }
            }

            if (videos == 0)
            {
                return;
            }

            if (_lastProbe != 0 && now - _lastProbe >= ProbeVerdict)
            {
                _probeHold = MinProbeHold; // the last probe held: probe eagerly again
                _lastProbe = 0;
            }

            var share = _estimate > 0 ? Math.Max(0, _estimate - audio) / videos : long.MaxValue;
            var probeDue = now - Math.Max(_lastChange, _lastDecrease) >= _probeHold;
            foreach (var consumer in consumers)
            {
                if (!consumer.IsClosed && consumer.Parameters.Kind == MediaKind.Video)
                {
                    Choose(consumer, share, decreased, probeDue, now);
                }
            }
        }
    }

    private void Choose(Consumer consumer, long share, bool decreased, bool probeDue, long now)
    {
        var producer = consumer.Producer;
        Span<int> ranked = stackalloc int[producer.EncodingCount];
        Span<long> rates = stackalloc long[producer.EncodingCount];
        var count = 0;
        for (var i = 0; i < producer.EncodingCount; i++)
        {
            var rate = producer.GetEncodingBitrate(i);
            if (rate <= 0)
            {
                continue;
            }

            // Insertion by rate, lowest first: the ranking is by what each encoding costs, not by its position in the SDP.
            var at = count++;
            while (at > 0 && rates[at - 1] > rate)
            {
                rates[at] = rates[at - 1];
                ranked[at] = ranked[at - 1];
                at--;
            }

            rates[at] = rate;
            ranked[at] = i;
        }

        if (count == 0)
        {
            return; // nothing arrives: keep the target; the first encoding to come decides
        }

        var target = consumer.TargetEncoding;
        var rank = -1;
        for (var r = 0; r < count; r++)
        {
            if (ranked[r] == target)
            {
                rank = r;
            }
        }

        if (rank >= 0 && decreased && _loss >= HeavyLoss)
        {
            // What gets through of the current layer is what the link carries.
            share = Math.Min(share, (long)(rates[rank] * (1 - (_loss / 256.0))));
        }

        var fit = -1;
        for (var r = 0; r < count; r++)
        {
            if (rates[r] <= share)
            {
                fit = r;
            }
        }

        int desired;
        if (share == long.MaxValue)
        {
            desired = count - 1; // no estimate yet: start on the best layer; a fall brings it down
        }
        else if (target == Consumer.Paused)
        {
            desired = fit >= 0 || probeDue ? 0 : -1;
        }
        else if (rank < 0)
        {
            desired = Math.Max(fit, 0); // its layer stopped arriving: the best that fits, or the lowest
        }
        else if (decreased && share < rates[rank] * DownRatio && now - _lastDown >= SettleAfterDown)
        {
            desired = fit >= 0 ? Math.Min(fit, rank) : share < rates[0] * AudioOnlyRatio ? -1 : 0;
        }
        else if (fit > rank || (probeDue && rank < count - 1))
        {
            desired = rank + 1; // one layer at a time: each step is a probe of the link
        }
        else
        {
            desired = rank;
        }

        var encoding = desired < 0 ? Consumer.Paused : ranked[desired];
        if (encoding == target)
        {
            return;
        }

        var up = desired > rank;
        consumer.SwitchTo(encoding, immediate: !up);
        _lastChange = now;
        if (!up)
        {
            _lastDown = now;
        }

        if (up && share != long.MaxValue && rates[desired] > share)
        {
            _lastProbe = now; // a step the estimate did not cover
        }
    }
}
