using Teletherapy.MediaRelay.Srtp;
using static Teletherapy.MediaRelay.Tests.Srtp.SrtpTestPackets;

namespace Teletherapy.MediaRelay.Tests.Srtp;

public sealed class SrtpContextTests
{
    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void RtpRoundTripWithCsrcsAndHeaderExtension(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        byte[] packet = BuildRtp(0xCAFEBABE, 1000, payloadLength: 333, csrcCount: 2, extension: true);
        byte[] original = packet.ToArray();
        int length = RtpLength(packet);
        int header = 12 + 8 + 12;

        Assert.True(sender.TryProtectRtp(packet, length, out int protectedLength));
        Assert.Equal(length + profile.RtpOverhead(), protectedLength);
        Assert.Equal(original[..header], packet[..header]); // header, CSRCs and extension stay in clear (RFC 3711 §3.1)
        Assert.NotEqual(original[header..length], packet[header..length]);

        Assert.True(receiver.TryUnprotectRtp(packet, protectedLength, out int plainLength));
        Assert.Equal(length, plainLength);
        Assert.Equal(original[..length], packet[..length]);
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void RtpRoundTripWithEmptyPayload(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        byte[] packet = BuildRtp(7, 1, payloadLength: 0);
        byte[] original = packet.ToArray();

        Assert.True(sender.TryProtectRtp(packet, 12, out int protectedLength));
        Assert.True(receiver.TryUnprotectRtp(packet, protectedLength, out int plainLength));
        Assert.Equal(original[..12], packet[..plainLength]);
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void RtcpRoundTripOfCompoundPacket(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        for (int i = 0; i < 3; i++)
        {
            byte[] packet = BuildRtcp(0x11223344, seed: i);
            byte[] original = packet.ToArray();
            int length = RtcpLength(packet);

            Assert.True(sender.TryProtectRtcp(packet, length, out int protectedLength));
            Assert.Equal(length + profile.RtcpOverhead(), protectedLength);
            Assert.Equal(original[..8], packet[..8]);
            Assert.NotEqual(original[8..length], packet[8..length]);

            Assert.True(receiver.TryUnprotectRtcp(packet, protectedLength, out int plainLength));
            Assert.Equal(original[..length], packet[..plainLength]);
        }
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void SrtcpTrailerCarriesEFlagAndIncrementingIndexWhereTheProfileSays(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, _) = Pair(profile);
        int indexOffsetFromEnd = profile.IsAead() ? 4 : 4 + profile.TagLength();
        for (uint expected = 0; expected < 3; expected++)
        {
            byte[] packet = BuildRtcp(5);
            Assert.True(sender.TryProtectRtcp(packet, RtcpLength(packet), out int length));
            uint word = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(length - indexOffsetFromEnd));
            Assert.Equal(0x8000_0000u | expected, word);
        }
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void EveryTamperedByteIsRejected(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        byte[] packet = BuildRtp(0xABCD, 5, payloadLength: 40, csrcCount: 1, extension: true);
        Assert.True(sender.TryProtectRtp(packet, RtpLength(packet), out int length));

        for (int i = 0; i < length; i++)
        {
            byte[] copy = packet.ToArray();
            copy[i] ^= 0x04;
            Assert.False(receiver.TryUnprotectRtp(copy, length, out _), $"byte {i} altered but accepted");
        }

        Assert.True(receiver.TryUnprotectRtp(packet, length, out _));
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void EveryTamperedRtcpByteIsRejected(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        byte[] packet = BuildRtcp(0xABCD);
        Assert.True(sender.TryProtectRtcp(packet, RtcpLength(packet), out int length));

        for (int i = 0; i < length; i++)
        {
            byte[] copy = packet.ToArray();
            copy[i] ^= 0x20;
            Assert.False(receiver.TryUnprotectRtcp(copy, length, out _), $"byte {i} altered but accepted");
        }

        Assert.True(receiver.TryUnprotectRtcp(packet, length, out _));
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void ReplayedRtpAndRtcpAreRejected(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        byte[] rtp = BuildRtp(9, 100);
        Assert.True(sender.TryProtectRtp(rtp, RtpLength(rtp), out int rtpLength));
        byte[] rtpCopy = rtp.ToArray();
        Assert.True(receiver.TryUnprotectRtp(rtp, rtpLength, out _));
        Assert.False(receiver.TryUnprotectRtp(rtpCopy, rtpLength, out _));

        byte[] rtcp = BuildRtcp(9);
        Assert.True(sender.TryProtectRtcp(rtcp, RtcpLength(rtcp), out int rtcpLength));
        byte[] rtcpCopy = rtcp.ToArray();
        Assert.True(receiver.TryUnprotectRtcp(rtcp, rtcpLength, out _));
        Assert.False(receiver.TryUnprotectRtcp(rtcpCopy, rtcpLength, out _));
    }

    /// <summary>
    /// Each stream keeps its own replay window and rollover counter however streams take turns: two in turn (both among
    /// the context's two most recent) and a third between them (one of them then looked up again).
    /// </summary>
    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void StreamsTakingTurnsKeepTheirOwnReplayWindowsAndRolloverCounters(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        uint[] ssrcs = [0xA1, 0xB2, 0xC3];
        ushort[] starts = [65530, 100, 40000];
        var copies = new List<(byte[] Packet, int Length)>();
        for (var round = 0; round < 12; round++)
        {
            // Rounds 0-5: A and B in turn; from 6 on C comes between them.
            foreach (var stream in round < 6 ? new[] { 0, 1 } : new[] { 0, 2, 1 })
            {
                var packet = BuildRtp(ssrcs[stream], (ushort)(starts[stream] + round), seed: round + stream);
                var original = packet.ToArray();
                Assert.True(sender.TryProtectRtp(packet, RtpLength(packet), out var protectedLength));
                copies.Add((packet.ToArray(), protectedLength));
                Assert.True(receiver.TryUnprotectRtp(packet, protectedLength, out var plainLength));
                Assert.Equal(original[..RtpLength(original)], packet[..plainLength]);
            }
        }

        // A wrapped past 65535 (ROC 1 on both sides), B and C did not.
        Assert.Equal(1u, sender.GetRolloverCounter(0xA1));
        Assert.Equal(1u, receiver.GetRolloverCounter(0xA1));
        Assert.Equal(0u, receiver.GetRolloverCounter(0xB2));
        Assert.Equal(0u, receiver.GetRolloverCounter(0xC3));

        // Every packet again is a replay of its own stream.
        foreach (var (packet, length) in copies)
        {
            Assert.False(receiver.TryUnprotectRtp(packet, length, out _));
        }
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void PacketOlderThanTheReplayWindowIsRejectedButReorderWithinIsAccepted(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        var protectedPackets = new List<(byte[] Packet, int Length)>();
        for (ushort seq = 0; seq < 300; seq++)
        {
            byte[] p = BuildRtp(3, seq, payloadLength: 20);
            Assert.True(sender.TryProtectRtp(p, RtpLength(p), out int l));
            protectedPackets.Add((p, l));
        }

        for (int i = 1; i < 300; i++)
        {
            Assert.True(receiver.TryUnprotectRtp(protectedPackets[i].Packet, protectedPackets[i].Length, out _));
        }

        // Highest is 299: 299 − 127 = 172 is still inside the 128-packet window, 299 − 128 is not, nor is 0.
        byte[] tooOld = BuildRtp(3, 171, payloadLength: 20);
        Assert.True(Pair(profile).Sender.TryProtectRtp(tooOld, RtpLength(tooOld), out int tooOldLength));
        Assert.False(receiver.TryUnprotectRtp(tooOld, tooOldLength, out _));
        Assert.False(receiver.TryUnprotectRtp(protectedPackets[0].Packet, protectedPackets[0].Length, out _));
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void WrongKeyIsRejected(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, _) = Pair(profile, seed: 1);
        (_, SrtpContext other) = Pair(profile, seed: 2);
        byte[] packet = BuildRtp(1, 1);
        Assert.True(sender.TryProtectRtp(packet, RtpLength(packet), out int length));
        Assert.False(other.TryUnprotectRtp(packet, length, out _));
        byte[] rtcp = BuildRtcp(1);
        Assert.True(sender.TryProtectRtcp(rtcp, RtcpLength(rtcp), out int rtcpLength));
        Assert.False(other.TryUnprotectRtcp(rtcp, rtcpLength, out _));
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void ProtectFailsWithoutRoomForTheTag(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, _) = Pair(profile);
        byte[] packet = BuildRtp(1, 1, payloadLength: 10);
        int length = RtpLength(packet);
        Assert.False(sender.TryProtectRtp(packet.AsSpan(0, length + profile.RtpOverhead() - 1), length, out _));
        Assert.True(sender.TryProtectRtp(packet.AsSpan(0, length + profile.RtpOverhead()), length, out _));

        byte[] rtcp = BuildRtcp(1);
        int rtcpLength = RtcpLength(rtcp);
        Assert.False(sender.TryProtectRtcp(rtcp.AsSpan(0, rtcpLength + profile.RtcpOverhead() - 1), rtcpLength, out _));
    }

    [Fact]
    public void MalformedRtpIsRefused()
    {
        (SrtpContext sender, SrtpContext receiver) = Pair(SrtpProfile.Aes128CmHmacSha1_80);
        byte[] packet = BuildRtp(1, 1, payloadLength: 4, extension: true);
        packet[0] = 0x40 | 0x10; // version 1
        Assert.False(sender.TryProtectRtp(packet, RtpLength(packet), out _));

        packet = BuildRtp(1, 1, payloadLength: 4, extension: true);
        packet[15] = 200; // extension length beyond the packet
        Assert.False(sender.TryProtectRtp(packet, RtpLength(packet), out _));
        Assert.False(receiver.TryUnprotectRtp(packet, 5, out _));
        Assert.False(receiver.TryUnprotectRtp(packet, packet.Length + 1, out _));
        Assert.False(receiver.TryUnprotectRtp(packet, -1, out _));
    }

    [Fact]
    public void ConstructorRejectsKeyOfTheWrongLength()
    {
        Assert.Throws<ArgumentException>(() => new SrtpContext(SrtpProfile.AeadAes256Gcm, new byte[16], new byte[12]));
        Assert.Throws<ArgumentException>(() => new SrtpContext(SrtpProfile.Aes128CmHmacSha1_80, new byte[16], new byte[12]));
    }

    [Fact]
    public void DisposedContextReturnsFalse()
    {
        (SrtpContext sender, _) = Pair(SrtpProfile.AeadAes128Gcm);
        sender.Dispose();
        byte[] packet = BuildRtp(1, 1);
        Assert.False(sender.TryProtectRtp(packet, RtpLength(packet), out _));
    }
}
