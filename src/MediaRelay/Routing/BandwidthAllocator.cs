using System.Diagnostics;
using Teletherapy.MediaRelay.Negotiation;

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
/// <para>
/// REMB alone misses congestion at a full token bucket (see <see cref="_ceiling"/>): beside it runs a loss-based bound
/// from the subscriber's Receiver Reports, and layers are chosen by the lower of the two. A climb is also judged by the
/// subscriber's NACKs within two seconds (<see cref="OnClimbFailed"/>), well before a report window closes.
/// </para>
/// <para>
/// Layers larger than the subscriber shows a track (<see cref="ViewSize"/>: its page reports each tile's size) are left
/// out of the ranking: the choice is the lower of what the link carries and what the view needs. A view that shrinks
/// below the layer flowing moves down on the smaller layer's keyframe, with no effect on the probing; one that grows
/// lets the subscriber climb again as the link allows.
/// </para>
/// Called on the subscriber's RTCP (receive thread), once a second from housekeeping and when a view size changes: one
/// lock, not per packet.
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
    internal const int CongestionLoss = 26;

    /// <summary>
    /// On congestion loss, what got through in the report window is what the link carries; this share of it is what a
    /// lower layer may cost, so the new layer and its keyframe fit with room to drain the queue.
    /// </summary>
    private const double LossHeadroom = 0.85;

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

    /// <summary>
    /// The loss-based bound on what this subscriber's link carries, in bit/s (<see cref="long.MaxValue"/> = none). The
    /// REMB estimate does not fall while a full token bucket drops what does not fit (the queueing delay stays constant),
    /// so after congestion loss the estimate alone would soon climb straight back onto the layer that did not fit. Like
    /// the loss-based half of GCC, the bound is what got through in the report window that showed the loss (the packets
    /// the subscriber received × their size, plus audio, with <see cref="LossHeadroom"/>). It grows with each clean
    /// report window (<see cref="CeilingGrowth"/>), a probe that holds lifts it, and a climb that fails sets it back to
    /// what the link carried cleanly before (<see cref="OnClimbFailed"/>). Layers are chosen by the lower of the two.
    /// </summary>
    private long _ceiling = long.MaxValue;

    /// <summary>
    /// A probe goes at most this far above the share the loss-based bound leaves: far above it the link has already said
    /// no, and the bound's own growth (<see cref="CeilingGrowth"/>) brings the next layer within reach.
    /// </summary>
    private const double CeilingReach = 1.5;

    /// <summary>Congestion loss was reported and the next allocation is to set <see cref="_ceiling"/> from it.</summary>
    private bool _lossEvent;

    /// <summary>A window with hardly any loss was reported: the next allocation records what we send as carried.</summary>
    private bool _cleanWindow;

    /// <summary>The last closed report window.</summary>
    private LossWindow _window;

    /// <summary>What the link carried (bit/s, audio included) over the last clean report window, and when (<see cref="RoutingClock"/>).</summary>
    private long _carried;
    private long _carriedAt;

    /// <summary>Clean report windows in a row: each grows the bound more than the one before (<see cref="CeilingGrowth"/>^n).</summary>
    private int _cleanRun;

    /// <summary>How long what a clean window carried is trusted as the bound after a climb that failed (<see cref="OnClimbFailed"/>).</summary>
    private static readonly long CarriedMemory = 10 * Stopwatch.Frequency;

    /// <summary>Loss (in 1/256) under which the link is taken to have room: 2 % (GCC's loss-based controller uses the same).</summary>
    private const int LowLoss = 5;

    /// <summary>How much <see cref="_ceiling"/> grows with the first clean report window (about a second); more with each next one.</summary>
    private const double CeilingGrowth = 1.15;

    /// <summary>The most the bound grows in one clean window.</summary>
    private const double MaxGrowth = 2.0;

    /// <summary>Climbs this subscriber's NACKs showed failing (<see cref="OnClimbFailed"/>), its own count beside the relay-wide metric.</summary>
    public int ClimbsFailed { get; private set; }

    /// <summary>The last estimate in bit/s; 0 before the first.</summary>
    public long EstimatedBitrate => Volatile.Read(ref _estimate);

    /// <summary>The subscriber's last reported video loss fraction (RFC 3550 §6.4.1, in 1/256); 0 before the first report.</summary>
    public int ReportedLoss => Volatile.Read(ref _loss);

    /// <summary>The loss-based bound in bit/s (<see cref="long.MaxValue"/> while no congestion loss was seen).</summary>
    public long LossBasedBound
    {
        get
        {
            lock (_lock)
            {
                return _ceiling;
            }
        }
    }

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
    public bool OnLoss(LossWindow window, long now)
    {
        lock (_lock)
        {
            var fractionLost = window.Loss;
            Volatile.Write(ref _loss, fractionLost);
            _window = window;
            _cleanRun = fractionLost < LowLoss ? _cleanRun + 1 : 0;
            if (fractionLost < LowLoss && _ceiling != long.MaxValue && now - _lastDecrease >= _probeHold)
            {
                // Grows only once the last congestion is a hold time ago: that hold doubles with each climb that
                // failed, so a link held at a cap is not pushed against it every few seconds. Growth speeds up while
                // the link stays clean (1.15, 1.32, 1.52… up to 2× a window), so a lifted cap is found in seconds.
                var growth = Math.Min(MaxGrowth, Math.Pow(CeilingGrowth, _cleanRun));
                _ceiling = (long)Math.Min(long.MaxValue / 2, _ceiling * growth);
            }

            if (fractionLost < CongestionLoss)
            {
                _cleanWindow = fractionLost < LowLoss;
                return false;
            }

            if (_lastDown != 0 && window.Start <= _lastDown)
            {
                // The window opened before the last step down (or at it: the report that caused the step opened the
                // next window): its loss is largely the layer left, still draining through a shaper's queue after the
                // step. The step has answered it; taken again it would pause a lower layer that fits. The next window
                // judges the new layer alone.
                _cleanWindow = false;
                return false;
            }

            _lossEvent = true;

            if (_lastProbe != 0 && now - _lastProbe < ProbeVerdict)
            {
                _probeHold = Math.Min(MaxProbeHold, _probeHold * 2);
                _lastProbe = 0;
            }

            _lastDecrease = now;
            return true;
        }
    }

    /// <summary>
    /// The subscriber's NACKs showed a climb failing (<see cref="Consumer.TakeFailedClimb"/>): back to the layer it came
    /// from at once, the bound down to what the link carried cleanly before (when that is recent), and the next climb
    /// held off longer, as after a failed probe.
    /// </summary>
    public void OnClimbFailed(ILayeredConsumer consumer, int from, long now)
    {
        lock (_lock)
        {
            RelayMetrics.ClimbsFailed.Inc();
            ClimbsFailed++;
            _probeHold = Math.Min(MaxProbeHold, _probeHold * 2);
            _lastProbe = 0;
            _lastDecrease = now;
            _cleanRun = 0;
            if (now - _carriedAt < CarriedMemory)
            {
                _ceiling = Math.Min(_ceiling, _carried);
            }

            if (consumer.TargetEncoding != from && consumer.IsEncodingActive(from) && !consumer.ExceedsView(from))
            {
                consumer.SwitchTo(from, immediate: true);
                _lastChange = now;
                _lastDown = now;
            }
        }
    }

    /// <summary>Sets each video consumer's target encoding for the current estimate.</summary>
    public void Allocate(IEnumerable<ILayeredConsumer> consumers, long now, bool decreased)
    {
        lock (_lock)
        {
            long audio = 0;
            var videos = 0;
            var settled = true;
            foreach (var consumer in consumers)
            {
                if (consumer.IsClosed)
                {
                    continue;
                }

                if (consumer.Kind == MediaKind.Audio)
                {
                    audio += consumer.GetEncodingBitrate(0);
                }
                else
                {
                    videos++;

                    // The last report window began after this consumer's last switch: it measured one layer.
                    settled &= consumer.CurrentEncoding == consumer.TargetEncoding && consumer.CurrentSince <= _window.Start;
                }
            }

            if (videos == 0)
            {
                return;
            }

            var arrived = _window.ReceivedBitrate + audio;
            if (_cleanWindow)
            {
                // Whatever we sent in a clean window got through, whichever layers it spanned.
                _cleanWindow = false;
                if (_window.ReceivedBitrate > 0)
                {
                    (_carried, _carriedAt) = (arrived, now);
                }
            }

            if (_lossEvent)
            {
                // Only from a settled state: a report that spans a switch (or a wait for its keyframe) covers a mix of
                // what was sent before and since, and says little about the rate that got through.
                _lossEvent = false;
                if (settled)
                {
                    _ceiling = Math.Min(_ceiling, (long)(arrived * LossHeadroom));
                }
            }

            if (_lastProbe != 0 && now - _lastProbe >= ProbeVerdict)
            {
                // The last probe held: probe eagerly again; the congestion that set the bound is over.
                _probeHold = MinProbeHold;
                _lastProbe = 0;
                _ceiling = long.MaxValue;
            }

            var bound = _estimate > 0 ? Math.Min(_estimate, _ceiling) : _ceiling;
            var share = bound != long.MaxValue ? Math.Max(0, bound - audio) / videos : long.MaxValue;
            var probeDue = now - Math.Max(_lastChange, _lastDecrease) >= _probeHold;
            var probeLimit = _ceiling == long.MaxValue ? long.MaxValue : (long)(Math.Max(0, _ceiling - audio) / videos * CeilingReach);
            foreach (var consumer in consumers)
            {
                if (!consumer.IsClosed && consumer.Kind == MediaKind.Video)
                {
                    Choose(consumer, share, probeLimit, decreased, probeDue, now);
                }
            }
        }
    }

    private void Choose(ILayeredConsumer consumer, long share, long probeLimit, bool decreased, bool probeDue, long now)
    {
        Span<int> ranked = stackalloc int[consumer.EncodingCount];
        Span<long> rates = stackalloc long[consumer.EncodingCount];
        var count = 0;
        for (var i = 0; i < consumer.EncodingCount; i++)
        {
            var rate = consumer.GetEncodingBitrate(i);
            if (rate <= 0 || consumer.ExceedsView(i))
            {
                continue; // not arriving, or larger than the subscriber shows the track: never chosen
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
        var rank = ranked[..count].IndexOf(target);

        // The subscriber now shows the track smaller than the layer it takes (ViewSize): down to what covers the view.
        var shrinking = rank < 0 && target != Consumer.Paused && consumer.IsEncodingActive(target) && consumer.ExceedsView(target);

        if (decreased)
        {
            consumer.ReturnEncoding = Consumer.Paused; // the link has spoken since the layer paused: its word decides
        }

        var back = consumer.ReturnEncoding == Consumer.Paused ? -1 : ranked[..count].IndexOf(consumer.ReturnEncoding);

        var flowing = rank >= 0 && consumer.CurrentEncoding == target;
        // A probe starts from a layer the subscriber has been receiving for a hold time: one still waiting for its
        // keyframe (which a congested link may be dropping) has told us nothing yet about what the link carries.
        // (From audio only the hold since the last change is enough.)
        if (target != Consumer.Paused)
        {
            probeDue &= flowing && now - consumer.CurrentSince >= _probeHold;
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
        if (shrinking)
        {
            desired = Math.Max(fit, 0); // the best that fits the link among those the view needs
        }
        else if (share == long.MaxValue)
        {
            desired = count - 1; // no estimate yet: start on the best layer; a fall brings it down
        }
        else if (target == Consumer.Paused)
        {
            desired = fit >= 0 || probeDue ? 0 : -1;
        }
        else if (rank < 0)
        {
            // Its layer stopped arriving: the best that fits, or the lowest; and back to it when it comes again.
            desired = Math.Max(fit, 0);
            consumer.ReturnEncoding = target;
        }
        else if (decreased && share < rates[rank] * DownRatio && now - _lastDown >= SettleAfterDown)
        {
            desired = fit >= 0 ? Math.Min(fit, rank) : share < rates[0] * AudioOnlyRatio ? -1 : 0;
        }
        else if (back > rank)
        {
            desired = back; // the publisher sends the layer again that this subscriber had before it paused
        }
        else if (flowing && (fit > rank || (probeDue && rank < count - 1 && rates[rank + 1] <= probeLimit)))
        {
            // Not while the last step still waits for its keyframe: the next step would replace it unseen.
            desired = rank + 1; // one layer at a time: each step is a probe of the link
        }
        else
        {
            desired = rank;
        }

        var encoding = desired < 0 ? Consumer.Paused : ranked[desired];
        if (back >= 0 && desired >= back)
        {
            consumer.ReturnEncoding = Consumer.Paused; // back where it was (or above)
        }

        if (encoding == target)
        {
            return;
        }

        if (shrinking)
        {
            // Not the link's doing: the bigger picture goes on until the smaller one's keyframe, and the probing is as it was.
            consumer.SwitchDownForView(encoding);
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
