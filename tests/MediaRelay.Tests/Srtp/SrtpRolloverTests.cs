using Teletherapy.MediaRelay.Srtp;
using static Teletherapy.MediaRelay.Tests.Srtp.SrtpTestPackets;

namespace Teletherapy.MediaRelay.Tests.Srtp;

/// <summary>The rollover counter across sequence-number wraps (RFC 3711 §3.3.1, Appendix A).</summary>
public sealed class SrtpRolloverTests
{
    private const uint Ssrc = 0x5EC0_0001;

    [Theory]
    [InlineData(0x0000_0000ul, (ushort)1, 1ul)]
    [InlineData(0x0000_FFFFul, (ushort)0, 0x1_0000ul)] // s_l ≥ 32768 and SEQ small: next ROC
    [InlineData(0x1_0002ul, (ushort)65534, 0xFFFEul)] // s_l < 32768 and SEQ large: previous ROC
    [InlineData(0x0000_0002ul, (ushort)65534, SrtpRolloverCounter.InvalidIndex)] // before ROC 0
    [InlineData(0x5_8000ul, (ushort)0, 0x5_0000ul)] // exactly half way: same ROC
    [InlineData(0x5_8001ul, (ushort)0, 0x6_0000ul)]
    public void EstimateIndexFollowsAppendixA(ulong highest, ushort sequence, ulong expected) =>
        Assert.Equal(expected, SrtpRolloverCounter.EstimateIndex(highest, sequence));

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void InOrderAcrossTheWrap(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        List<(byte[] Packet, int Length, byte[] Original)> packets = ProtectRange(sender, 65530, 17);

        Assert.Equal(1u, sender.GetRolloverCounter(Ssrc));
        foreach ((byte[] packet, int length, byte[] original) in packets)
        {
            Assert.True(receiver.TryUnprotectRtp(packet, length, out int plain));
            Assert.Equal(original[..plain], packet[..plain]);
        }

        Assert.Equal(1u, receiver.GetRolloverCounter(Ssrc));
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void ReorderedAcrossTheWrap(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        List<(byte[] Packet, int Length, byte[] Original)> packets = ProtectRange(sender, 65530, 17);

        // 65530, 65531, 0, 65533, 65532, 2, 1, 65535, 65534, 3, ...: packets on both sides of the wrap swap places.
        int[] order = [0, 1, 6, 3, 2, 8, 7, 5, 4, 9, 11, 10, 12, 13, 16, 15, 14];
        foreach (int i in order)
        {
            (byte[] packet, int length, byte[] original) = packets[i];
            Assert.True(receiver.TryUnprotectRtp(packet, length, out int plain), $"packet {i}");
            Assert.Equal(original[..plain], packet[..plain]);
        }

        Assert.Equal(1u, receiver.GetRolloverCounter(Ssrc));
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void LatePacketFromBeforeTheWrapArrivesAfterIt(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        List<(byte[] Packet, int Length, byte[] Original)> packets = ProtectRange(sender, 65530, 40);
        int late = 4; // sequence number 65534, ROC 0

        for (int i = 0; i < packets.Count; i++)
        {
            if (i != late)
            {
                Assert.True(receiver.TryUnprotectRtp(packets[i].Packet, packets[i].Length, out _));
            }
        }

        (byte[] packet, int length, byte[] original) = packets[late];
        Assert.True(receiver.TryUnprotectRtp(packet, length, out int plain));
        Assert.Equal(original[..plain], packet[..plain]);
        Assert.Equal(1u, receiver.GetRolloverCounter(Ssrc)); // the late packet must not pull ROC back
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void ReceiverWhoseFirstPacketIs65535(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        List<(byte[] Packet, int Length, byte[] Original)> packets = ProtectRange(sender, 65535, 5);

        foreach ((byte[] packet, int length, byte[] original) in packets)
        {
            Assert.True(receiver.TryUnprotectRtp(packet, length, out int plain));
            Assert.Equal(original[..plain], packet[..plain]);
        }

        Assert.Equal(1u, receiver.GetRolloverCounter(Ssrc));
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void RandomStartRunsThroughSeveralWrapsWithLoss(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        var random = new Random(2024);
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        var start = (ushort)random.Next(65536);
        int count = 3 * 65536 + 100;
        ushort seq = start;
        int received = 0;
        for (int i = 0; i < count; i++, seq++)
        {
            byte[] packet = BuildRtp(Ssrc, seq, payloadLength: 8);
            Assert.True(sender.TryProtectRtp(packet, RtpLength(packet), out int length));

            // Lose bursts of up to 1000 packets now and then: the receiver still has to follow the ROC.
            if (i % 20000 > 19000)
            {
                continue;
            }

            Assert.True(receiver.TryUnprotectRtp(packet, length, out _), $"packet {i} seq {seq}");
            received++;
        }

        Assert.Equal(sender.GetRolloverCounter(Ssrc), receiver.GetRolloverCounter(Ssrc));
        Assert.True(receiver.GetRolloverCounter(Ssrc) >= 3);
        Assert.True(received > count * 9 / 10);
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void SenderRetransmissionFromBeforeTheWrapKeepsItsRolloverCounter(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        List<(byte[] Packet, int Length, byte[] Original)> packets = ProtectRange(sender, 65533, 6);
        foreach ((byte[] packet, int length, _) in packets.Skip(1))
        {
            Assert.True(receiver.TryUnprotectRtp(packet, length, out _));
        }

        // A NACKed packet sent again after the wrap: protected with ROC 0, not 1.
        byte[] resend = BuildRtp(Ssrc, 65533);
        byte[] original = resend.ToArray();
        Assert.True(sender.TryProtectRtp(resend, RtpLength(resend), out int resendLength));
        Assert.True(receiver.TryUnprotectRtp(resend, resendLength, out int plain));
        Assert.Equal(original[..plain], resend[..plain]);
    }

    private static List<(byte[] Packet, int Length, byte[] Original)> ProtectRange(SrtpContext sender, ushort first, int count)
    {
        var packets = new List<(byte[], int, byte[])>();
        ushort seq = first;
        for (int i = 0; i < count; i++, seq++)
        {
            byte[] packet = BuildRtp(Ssrc, seq, payloadLength: 50);
            byte[] original = packet.ToArray();
            Assert.True(sender.TryProtectRtp(packet, RtpLength(packet), out int length));
            packets.Add((packet, length, original));
        }

        return packets;
    }
}
