using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// A consumer's RTCP with its subscriber: the Sender Reports it writes from what forwarding and repairs sent, what the
/// subscriber's Receiver Reports say (<see cref="SubscriberReports"/>), and the playout delay asked for from both hops'
/// loss (<see cref="PlayoutDelaySetting"/>). It shares the lock and the counters with forwarding.
/// </summary>
internal sealed partial class Consumer
{
    /// <summary>The subscriber's round trip from its Receiver Reports (100 ms before the first).</summary>
    public TimeSpan SubscriberRoundTrip => _reports.RoundTrip;

    /// <summary>The minimum playout delay the subscriber is asked for now (zero on clean links).</summary>
    public TimeSpan PlayoutDelay => _playoutDelay.Delay;

    /// <summary>
    /// RFC 3550 §6.4.1 Sender Report for our SSRC, so the browser can map RTP time to wall-clock time (lip sync), followed
    /// by one for our RTX SSRC once it carried anything (every outgoing SSRC reports, §6.1). Returns the bytes written,
    /// 0 when nothing was sent yet.
    /// </summary>
    public int WriteSenderReport(Span<byte> destination, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (PacketsSent == 0)
            {
                return 0;
            }

            var rtpNow = _numbering.TimestampNow();
            var ntp = NtpTime.From(now);
            var length = SenderReport.Write(destination, Parameters.Ssrc, ntp, rtpNow, (uint)PacketsSent, (uint)OctetsSent, default);
            if (RtxPacketsSent > 0 && Parameters.RtxSsrc is { } rtx)
            {
                length += SenderReport.Write(destination[length..], rtx, ntp, rtpNow, (uint)RtxPacketsSent, (uint)RtxOctetsSent, default);
            }

            return length;
        }
    }

    /// <summary>The subscriber's Receiver Report block for our SSRC (RFC 3550 §6.4.2): how lossy its link is.</summary>
    public void OnReceiverReport(in ReportBlock block) => OnReceiverReport(block, _clock.UtcNow);

    /// <summary>The report block also gives the subscriber's round trip when it answers a Sender Report of ours.</summary>
    internal void OnReceiverReport(in ReportBlock block, DateTimeOffset arrival) => _reports.OnReport(block, arrival);

    /// <summary>The subscriber's loss on this stream over a window of at least a second (<see cref="SubscriberReports.CloseWindow"/>).</summary>
    internal LossWindow? CloseLossWindow(in ReportBlock block, long now)
    {
        lock (_lock)
        {
            return _reports.CloseWindow(block, OctetsSent, PacketsSent, now);
        }
    }

    /// <summary>
    /// Housekeeping: the playout delay from how lossy both hops are now (<see cref="PlayoutDelayPolicy"/>). Once raised
    /// it is written into every video packet, and for a while after it drops back to zero so the browser hears that too.
    /// </summary>
    public void UpdatePlayoutDelay(long now)
    {
        if (!_isVideo || Parameters.Extensions.PlayoutDelay is not (> 0 and <= 14))
        {
            return;
        }

        var encoding = CurrentEncoding >= 0 ? CurrentEncoding : TargetEncoding;
        var publisherRoundTrip = encoding >= 0 && Producer.GetStatistics(encoding) is { } statistics ? statistics.NackRoundTrip : TimeSpan.FromMilliseconds(100);
        var delay = PlayoutDelayPolicy.Compute(Producer.PublisherLoss.IsLossy(now), publisherRoundTrip, _subscriberLoss.IsLossy(now), SubscriberRoundTrip);
        _playoutDelay.Update(delay, now);
    }
}
