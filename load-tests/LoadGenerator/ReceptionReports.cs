using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.LoadTests;

/// <summary>
/// What a browser's receiving side tells the sender about each stream it gets (RFC 3550 §6.4.2): a Receiver Report
/// block per SSRC the relay sends (loss, highest sequence number, jitter) with LSR and DLSR from the relay's Sender
/// Reports, so the relay learns each subscriber's loss and round trip as it does from browsers. Packets and Sender
/// Reports are counted on the connection's receive thread; the reports are written on the participant's pacer thread,
/// about once a second.
/// </summary>
internal sealed class ReceptionReports
{
    /// <summary>As browsers report video: about once a second.</summary>
    public static readonly long Interval = Stopwatch.Frequency;

    /// <summary>The most blocks one report carries (RFC 3550 §6.4.2: the 5-bit count).</summary>
    public const int MaxBlocks = 31;

    /// <summary>The largest report written: header, sender SSRC and <see cref="MaxBlocks"/> blocks.</summary>
    public const int MaxLength = 8 + (MaxBlocks * ReportBlock.Size);

    private readonly Lock _lock = new();
    private readonly int _audioPayloadType;
    private ReceiveStatistics[] _streams = [];
    private long _nextReport;

    /// <param name="audioPayloadType">The payload type whose streams are timed at 48 kHz for jitter; the others at 90 kHz.</param>
    public ReceptionReports(int audioPayloadType) => _audioPayloadType = audioPayloadType;

    /// <summary>Streams seen so far.</summary>
    public int Streams => Volatile.Read(ref _streams).Length;

    /// <summary>
    /// When <see cref="WriteDue"/> may next write a report (<see cref="Stopwatch"/> ticks): a second after the last one,
    /// or 0 before the first.
    /// </summary>
    public long NextReport => _nextReport;

    /// <summary>One RTP packet arrived (receive thread).</summary>
    public void OnRtp(in RtpHeader header, long now)
    {
        var ssrc = header.Ssrc;
        var statistics = Find(Volatile.Read(ref _streams), ssrc);
        if (statistics is null)
        {
            lock (_lock)
            {
                statistics = Find(_streams, ssrc);
                if (statistics is null)
                {
                    statistics = new ReceiveStatistics(ssrc, header.PayloadType == _audioPayloadType ? 48_000 : 90_000);
                    Volatile.Write(ref _streams, [.. _streams, statistics]);
                }
            }
        }

        statistics.Classify(header.SequenceNumber, header.Timestamp, now, trackLoss: false);
    }

    /// <summary>An RTCP datagram arrived (receive thread): its Sender Reports give the next reports' LSR and DLSR.</summary>
    public void OnRtcp(ReadOnlySpan<byte> datagram, long now)
    {
        foreach (var rtcp in new RtcpPacketEnumerator(datagram))
        {
            if (rtcp.PacketType == RtcpPacketType.SenderReport && SenderReport.TryRead(rtcp.Packet, out var report))
            {
                Find(Volatile.Read(ref _streams), report.Ssrc)?.OnSenderReport(report.NtpTimestamp, now);
            }
        }
    }

    /// <summary>
    /// A Receiver Report from <paramref name="ssrc"/> with a block for each stream (up to <see cref="MaxBlocks"/>) when
    /// <see cref="Interval"/> has passed since the last one; its length, or 0 when none is due or nothing arrived yet.
    /// </summary>
    public int WriteDue(Span<byte> destination, uint ssrc, long now)
    {
        if (now < _nextReport)
        {
            return 0;
        }

        var streams = Volatile.Read(ref _streams);
        if (streams.Length == 0)
        {
            return 0;
        }

        _nextReport = now + Interval;
        Span<ReportBlock> blocks = stackalloc ReportBlock[MaxBlocks];
        var count = 0;
        foreach (var stream in streams)
        {
            if (count < blocks.Length && stream.TryGetReportBlock(now, out var block))
            {
                blocks[count++] = block;
            }
        }

        return count == 0 ? 0 : ReceiverReport.Write(destination, ssrc, blocks[..count]);
    }

    private static ReceiveStatistics? Find(ReceiveStatistics[] streams, uint ssrc)
    {
        foreach (var stream in streams)
        {
            if (stream.Ssrc == ssrc)
            {
                return stream;
            }
        }

        return null;
    }
}
