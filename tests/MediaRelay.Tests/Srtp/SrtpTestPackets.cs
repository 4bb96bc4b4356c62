using System.Buffers.Binary;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Tests.Srtp;

/// <summary>Builds RTP/RTCP packets and keys for SRTP tests.</summary>
internal static class SrtpTestPackets
{
    public const int Slack = 32;

    public static byte[] Hex(string hex) =>
        Convert.FromHexString(string.Concat(hex.Where(Uri.IsHexDigit)));

    /// <summary>An RTP packet (V=2) with optional CSRCs and a one-byte header extension (RFC 8285), plus slack for the tag.</summary>
    public static byte[] BuildRtp(uint ssrc, ushort sequenceNumber, int payloadLength = 160, int csrcCount = 0, bool extension = false, int seed = 1)
    {
        int header = 12 + (4 * csrcCount) + (extension ? 12 : 0);
        var packet = new byte[header + payloadLength + Slack];
        packet[0] = (byte)(0x80 | (extension ? 0x10 : 0) | csrcCount);
        packet[1] = 96;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), sequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), 0x1234_5678u + sequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), ssrc);
        int offset = 12;
        for (int i = 0; i < csrcCount; i++, offset += 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(offset), 0xC5C00000u + (uint)i);
        }

        if (extension)
        {
            packet[offset] = 0xBE;
            packet[offset + 1] = 0xDE;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(offset + 2), 2);
            packet[offset + 4] = 0x10; // id 1, length 1
            packet[offset + 5] = 0xAA;
            offset += 12;
        }

        var random = new Random(seed ^ sequenceNumber);
        random.NextBytes(packet.AsSpan(offset, payloadLength));
        return packet;
    }

    public static int RtpLength(byte[] packet) => packet.Length - Slack;

    /// <summary>A receiver report with one report block and an SDES chunk: a compound RTCP packet.</summary>
    public static byte[] BuildRtcp(uint ssrc, int seed = 7)
    {
        var packet = new byte[8 + 24 + 12 + Slack];
        packet[0] = 0x81;
        packet[1] = 201;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), 7);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), ssrc);
        new Random(seed).NextBytes(packet.AsSpan(8, 24));
        packet[32] = 0x81;
        packet[33] = 202;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(34), 2);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(36), ssrc);
        packet[40] = 1;
        packet[41] = 1;
        packet[42] = (byte)'x';
        return packet;
    }

    public static int RtcpLength(byte[] packet) => packet.Length - Slack;

    public static (SrtpContext Sender, SrtpContext Receiver) Pair(SrtpProfile profile, int seed = 42)
    {
        var random = new Random(seed);
        var key = new byte[profile.KeyLength()];
        var salt = new byte[profile.SaltLength()];
        random.NextBytes(key);
        random.NextBytes(salt);
        return (new SrtpContext(profile, key, salt), new SrtpContext(profile, key, salt));
    }

    /// <summary>
    /// Every profile, as theory data. The theories take <see cref="Enum"/> and cast: <see cref="SrtpProfile"/> is internal
    /// to the relay, and a public test method cannot name it in its signature.
    /// </summary>
    public static TheoryData<Enum> AllProfiles() =>
        new(SrtpProfile.Aes128CmHmacSha1_80, SrtpProfile.AeadAes128Gcm, SrtpProfile.AeadAes256Gcm);
}
