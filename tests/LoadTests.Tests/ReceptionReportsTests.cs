using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.LoadTests.Tests;

/// <summary>
/// The tool's subscribers report what they received as browsers do, once a second: loss, highest sequence number and
/// the LSR/DLSR that give the relay their round trip.
/// </summary>
public sealed class ReceptionReportsTests
{
    private const uint Audio = 0x0A0A_0001;
    private const uint Video = 0x0B0B_0002;
    private static readonly long Second = Stopwatch.Frequency;

    [Fact]
    public void AReportABlockPerStreamWithItsLossAndTheRelaysSenderReportEchoed()
    {
        var reports = new ReceptionReports(audioPayloadType: 111);
        var t = 1000 * Second;
        var buffer = new byte[ReceptionReports.MaxLength];
        Assert.Equal(0, reports.WriteDue(buffer, 0x5EED, t)); // nothing received yet
        Assert.Equal(0, reports.NextReport); // so none was written, and one may be at any time

        for (var i = 0; i < 10; i++)
        {
            Receive(reports, Audio, 111, (ushort)(65530 + i), t);
            if (i != 4 && i != 5)
            {
                Receive(reports, Video, 96, (ushort)(100 + i), t); // 104 and 105 lost
            }
        }

        Assert.Equal(2, reports.Streams);
        var ntp = 0x0000_1234_5678_9ABCUL;
        var sr = new byte[64];
        reports.OnRtcp(sr.AsSpan(0, SenderReport.Write(sr, Video, ntp, 0, 1, 1, [])), t);
        var length = reports.WriteDue(buffer, 0x5EED, t + (Second / 2)); // half a second after the Sender Report
        Assert.True(ReceiverReport.TryRead(buffer.AsSpan(0, length), out var report));
        Assert.Equal(0x5EEDu, report.Ssrc);
        Assert.Equal(2, report.ReportCount);
        var audio = report.GetReportBlock(0);
        Assert.Equal(Audio, audio.Ssrc);
        Assert.Equal(0, audio.CumulativeLost);
        Assert.Equal(0x10000u + 3, audio.ExtendedHighestSequence); // 65530 … 3: the sequence numbers wrapped once
        Assert.Equal(0u, audio.LastSenderReport); // no Sender Report for it yet
        var video = report.GetReportBlock(1);
        Assert.Equal(Video, video.Ssrc);
        Assert.Equal(2, video.CumulativeLost);
        Assert.Equal(109u, video.ExtendedHighestSequence);
        Assert.Equal(0x1234_5678u, video.LastSenderReport); // the middle 32 bits of its NTP timestamp
        Assert.InRange(video.DelaySinceLastSenderReport, 32767u, 32769u); // half a second in 1/65536 s

        Assert.Equal(t + (Second / 2) + Second, reports.NextReport); // what a sender may wait for instead of asking
        Assert.Equal(0, reports.WriteDue(buffer, 0x5EED, t + Second)); // the next is due a second after this one
        Assert.True(reports.WriteDue(buffer, 0x5EED, t + (Second / 2) + Second) > 0);
    }

    private static void Receive(ReceptionReports reports, uint ssrc, int payloadType, ushort sequence, long now)
    {
        var packet = new byte[40];
        var length = new RtpHeaderWriter(packet, (byte)payloadType, sequence, 960u * sequence, ssrc, marker: false).Complete();
        Assert.True(RtpHeader.TryRead(packet.AsSpan(0, length + 10), out var header));
        reports.OnRtp(header, now);
    }
}
