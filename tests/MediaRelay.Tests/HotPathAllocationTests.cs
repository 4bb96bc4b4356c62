using System.Text;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Tests.Rtp;
using Teletherapy.MediaRelay.Tests.Stun;

namespace Teletherapy.MediaRelay.Tests;

/// <summary>The per-packet read and rewrite paths must not allocate (architecture: hot path allocates nothing).</summary>
public class HotPathAllocationTests
{
    private static readonly byte[] Password = Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBt");

    [Fact]
    public void StunRtpAndRtcpReadPaths_AllocateNothing()
    {
        byte[] rtp = (byte[])RtpHeaderTests.Packet.Clone();
        byte[] idMap = new byte[256];
        idMap[1] = 1;
        idMap[3] = 5;
        byte[] rtcp = new byte[512];
        int rtcpLength = ReceiverReport.Write(rtcp, 1, [new ReportBlock(1, 2, 3, 4, 5, 6, 7)]);
        rtcpLength += GenericNack.Write(rtcp.AsSpan(rtcpLength), 1, 2, [1, 2, 5, 40]);
        rtcpLength += TransportWideFeedback.Write(rtcp.AsSpan(rtcpLength), 1, 2, 0, [new(1, 64_000), new(3, 70_000), new(4, 400_000)]);

        long sum = RunAll(rtp, idMap, rtcp.AsSpan(0, rtcpLength)); // warm up static tables and JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            sum += RunAll(rtp, idMap, rtcp.AsSpan(0, rtcpLength));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.NotEqual(0, sum);
    }

    private static long RunAll(byte[] rtp, byte[] idMap, ReadOnlySpan<byte> rtcp)
    {
        long sum = 0;
        Assert.True(StunMessage.TryRead(StunRfc5769Tests.SampleRequest, out StunMessage stun));
        sum += stun.VerifyMessageIntegrity(Password) && stun.VerifyFingerprint() ? 1 : 0;
        stun.TryGetUsername(out ReadOnlySpan<byte> username);
        sum += username.Length;
        Span<byte> address = stackalloc byte[16];
        Assert.True(StunMessage.TryRead(StunRfc5769Tests.SampleIpv6Response, out StunMessage response));
        sum += response.TryGetXorMappedAddress(address, out int length, out ushort port) ? length + port : 0;

        Assert.True(RtpHeader.TryRead(rtp, out RtpHeader header));
        foreach (RtpHeaderExtension element in header.Extensions)
        {
            sum += element.Id;
        }

        RtpHeaderRewriter.RewriteExtensionIds(rtp, idMap);
        RtpHeaderRewriter.SetSequenceNumber(rtp, 7);
        RtpHeaderRewriter.TrySetAbsSendTime(rtp, 5, 0x123456);
        sum += Vp8PayloadDescriptor.IsKeyframePayload(header.Payload) ? 1 : 0;
        sum += H264Payload.IsKeyframe(header.Payload) ? 1 : 0;

        foreach (RtcpHeader packet in new RtcpPacketEnumerator(rtcp))
        {
            if (GenericNack.TryRead(packet.Packet, out GenericNack nack))
            {
                foreach (ushort lost in nack.LostSequenceNumbers)
                {
                    sum += lost;
                }
            }
            else if (TransportWideFeedback.TryRead(packet.Packet, out TransportWideFeedback twcc))
            {
                foreach (TransportWidePacketStatus status in twcc.Statuses)
                {
                    sum += status.DeltaMicroseconds;
                }
            }
            else if (ReceiverReport.TryRead(packet.Packet, out ReceiverReport rr))
            {
                sum += rr.GetReportBlock(0).Jitter;
            }
        }

        return sum;
    }
}
