using System.Buffers.Binary;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Srtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

/// <summary>
/// Our client stack against our server stack over real loopback UDP and TCP: ICE, DTLS, then SRTP both
/// ways, for each SRTP profile. Every packet must arrive, and arrive byte-identical after decryption.
/// </summary>
public sealed class LoopbackMediaTests
{
    private const uint ClientSsrc = 0x1111_2222;
    private const uint ServerSsrc = 0x3333_4444;

    public static TheoryData<Enum, string> ProfilesAndProtocols()
    {
        var data = new TheoryData<Enum, string>();
        foreach (SrtpProfile profile in new[] { SrtpProfile.Aes128CmHmacSha1_80, SrtpProfile.AeadAes128Gcm, SrtpProfile.AeadAes256Gcm })
        {
            data.Add(profile, "udp");
            data.Add(profile, "tcp");
        }

        return data;
    }

    [Theory(Timeout = 30000)]
    [MemberData(nameof(ProfilesAndProtocols))]
    public async Task RtpArrivesIntactBothWaysWithTheOfferedProfile(Enum profileCase, string transport)
    {
        var profile = (SrtpProfile)profileCase;
        using LoopbackSession session = await LoopbackSession.ConnectAsync(LoopbackSession.Protocol(transport), new DtlsOptions { SrtpProfiles = [profile] });

        Assert.Equal(profile, session.Client.Profile);
        Assert.Equal(profile, session.Server.Profile);
        Assert.Equal(WebRtcTransportState.Connected, session.Client.State);
        Assert.Equal(WebRtcTransportState.Connected, session.Server.State);
        Assert.Equal(session.Client.LocalEndPoint, session.Client.MappedAddress);

        await ExchangeAsync(session, count: 200, firstSequence: 1000);
    }

    [Theory(Timeout = 30000)]
    [MemberData(nameof(ProfilesAndProtocols))]
    public async Task NothingIsLostOrCorruptedAcrossASequenceNumberWrap(Enum profileCase, string transport)
    {
        var profile = (SrtpProfile)profileCase;
        using LoopbackSession session = await LoopbackSession.ConnectAsync(LoopbackSession.Protocol(transport), new DtlsOptions { SrtpProfiles = [profile] });

        // 64000 + 3000 passes 65535 → 0: the rollover counter of each direction must step to 1 (RFC 3711 §3.3.1).
        await ExchangeAsync(session, count: 3000, firstSequence: 64000);
    }

    [Theory(Timeout = 30000)]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task RtcpArrivesIntactBothWays(string transport)
    {
        using LoopbackSession session = await LoopbackSession.ConnectAsync(LoopbackSession.Protocol(transport));
        byte[] buffer = new byte[1500];

        // Client → server: a compound SR + PLI, as a browser asks for a keyframe.
        int length = SenderReport.Write(buffer, ClientSsrc, 0xE5A0_0000_1234_5678UL, 90000, 42, 4200, []);
        length += PictureLossIndication.Write(buffer.AsSpan(length), ClientSsrc, ServerSsrc);
        byte[] clientRtcp = buffer[..length];
        Assert.True(session.Client.SendRtcp(buffer, length));

        // Server → client: an SR with one report block, then a lone PLI (reduced-size, RFC 5506).
        var block = new ReportBlock(ClientSsrc, 0, 0, 1041, 3, 0x1234_5678, 10);
        length = SenderReport.Write(buffer, ServerSsrc, 0xE5A0_0001_0000_0000UL, 48000, 7, 700, [block]);
        byte[] serverSr = buffer[..length];
        Assert.True(session.Server.SendRtcp(buffer, length));
        length = PictureLossIndication.Write(buffer, ServerSsrc, ClientSsrc);
        byte[] serverPli = buffer[..length];
        Assert.True(session.Server.SendRtcp(buffer, length));

        await LoopbackSession.WaitUntilAsync(() => !session.ServerListener.Rtcp.IsEmpty && session.ClientListener.Rtcp.Count >= 2, LoopbackSession.StepTimeout, "RTCP");
        Assert.Equal(clientRtcp, Assert.Single(session.ServerListener.Rtcp));
        Assert.Equal([serverSr, serverPli], session.ClientListener.Rtcp.ToArray());
        Assert.True(SenderReport.TryRead(serverSr, out SenderReport sr));
        Assert.Equal(1041u, sr.GetReportBlock(0).ExtendedHighestSequence);
        Assert.True(PictureLossIndication.TryRead(clientRtcp.AsSpan(28), out PictureLossIndication pli));
        Assert.Equal(ServerSsrc, pli.MediaSsrc);
        Assert.Empty(session.ServerListener.Rtp);
    }

    [Fact(Timeout = 30000)]
    public async Task AClientThatDropsRtpCountsItUnreadAndStillTakesRtcp()
    {
        using LoopbackSession session = await LoopbackSession.ConnectAsync(IceTransportProtocol.Udp);
        byte[] buffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
        Assert.True(session.Server.SendRtp(buffer, WriteRtp(buffer, ServerSsrc, 1, 0, 1)));
        await LoopbackSession.WaitUntilAsync(() => session.ClientListener.Rtp.Count == 1, LoopbackSession.StepTimeout, "the first RTP");

        session.Client.DropRtp = true;
        for (ushort sequence = 2; sequence <= 51; sequence++)
        {
            Assert.True(session.Server.SendRtp(buffer, WriteRtp(buffer, ServerSsrc, sequence, 0, sequence)));
        }

        var length = PictureLossIndication.Write(buffer, ServerSsrc, ClientSsrc);
        Assert.True(session.Server.SendRtcp(buffer, length));
        await LoopbackSession.WaitUntilAsync(() => session.Client.RtpDropped == 50 && !session.ClientListener.Rtcp.IsEmpty, LoopbackSession.StepTimeout, "50 dropped and the PLI");
        Assert.Single(session.ClientListener.Rtp);
        Assert.Equal(WebRtcTransportState.Connected, session.Client.State);

        // Taken in again once the client listens again: the SRTP context never saw the dropped ones, and takes the next.
        session.Client.DropRtp = false;
        Assert.True(session.Server.SendRtp(buffer, WriteRtp(buffer, ServerSsrc, 52, 0, 52)));
        await LoopbackSession.WaitUntilAsync(() => session.ClientListener.Rtp.Count == 2, LoopbackSession.StepTimeout, "RTP after listening again");
        Assert.Equal(50, session.Client.RtpDropped);
    }

    [Theory(Timeout = 30000)]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task SendingRtpAfterConnectAllocatesNothing(string transport)
    {
        using LoopbackSession session = await LoopbackSession.ConnectAsync(LoopbackSession.Protocol(transport));
        byte[] buffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
        Assert.True(session.Client.SendRtp(buffer, WriteRtp(buffer, ClientSsrc, 1, 0, 1)));
        Assert.True(session.Server.SendRtp(buffer, WriteRtp(buffer, ServerSsrc, 1, 0, 1)));
        int length = WriteRtp(buffer, ClientSsrc, 2, 0, 2);
        byte[] template = buffer[..length];

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            template.CopyTo(buffer, 0);
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(10 + i));
            session.Client.SendRtp(buffer, length);
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(8), ServerSsrc);
            template.AsSpan(12).CopyTo(buffer.AsSpan(12));
            session.Server.SendRtp(buffer, length);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        await LoopbackSession.WaitUntilAsync(
            () => session.ServerListener.Rtp.Count == 101 && session.ClientListener.Rtp.Count == 101, LoopbackSession.StepTimeout, "every packet");
    }

    /// <summary>
    /// Sends <paramref name="count"/> RTP packets each way, in windows small enough that loopback socket buffers
    /// never overflow (so a loss is a bug, not congestion), and checks every one arrived byte for byte.
    /// </summary>
    private static async Task ExchangeAsync(LoopbackSession session, int count, ushort firstSequence)
    {
        const int Window = 64;
        var sentByClient = new Dictionary<ushort, byte[]>(count);
        var sentByServer = new Dictionary<ushort, byte[]>(count);
        byte[] buffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
        for (int i = 0; i < count; i++)
        {
            ushort sequence = (ushort)(firstSequence + i);
            uint timestamp = 3000u * (uint)i;

            int length = WriteRtp(buffer, ClientSsrc, sequence, timestamp, i);
            sentByClient.Add(sequence, buffer[..length]);
            Assert.True(session.Client.SendRtp(buffer, length), $"client send #{i}");

            length = WriteRtp(buffer, ServerSsrc, sequence, timestamp, -i);
            sentByServer.Add(sequence, buffer[..length]);
            Assert.True(session.Server.SendRtp(buffer, length), $"server send #{i}");

            if ((i + 1) % Window == 0 || i == count - 1)
            {
                int expected = i + 1;
                await LoopbackSession.WaitUntilAsync(
                    () => session.ServerListener.Rtp.Count >= expected && session.ClientListener.Rtp.Count >= expected,
                    LoopbackSession.StepTimeout,
                    $"{expected} packets each way (server got {session.ServerListener.Rtp.Count}, client got {session.ClientListener.Rtp.Count})");
            }
        }

        AssertReceivedExactly(sentByClient, session.ServerListener.Rtp.ToArray(), ClientSsrc);
        AssertReceivedExactly(sentByServer, session.ClientListener.Rtp.ToArray(), ServerSsrc);
    }

    private static void AssertReceivedExactly(Dictionary<ushort, byte[]> sent, byte[][] received, uint ssrc)
    {
        Assert.Equal(sent.Count, received.Length);
        var seen = new HashSet<ushort>();
        foreach (byte[] packet in received)
        {
            Assert.True(RtpHeader.TryRead(packet, out RtpHeader header));
            Assert.Equal(ssrc, header.Ssrc);
            Assert.True(seen.Add(header.SequenceNumber), $"sequence {header.SequenceNumber} delivered twice");
            Assert.True(sent.TryGetValue(header.SequenceNumber, out byte[]? original), $"sequence {header.SequenceNumber} never sent");
            Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(original.AsSpan(4)), header.Timestamp);
            Assert.True(header.TryGetExtension(1, out ReadOnlySpan<byte> mid));
            Assert.Equal("1"u8, mid);
            Assert.Equal(original, packet);
        }
    }

    /// <summary>
    /// An RTP packet with mid, abs-send-time and transport-wide sequence extensions (RFC 8285 one-byte form)
    /// and a payload whose size and content vary with <paramref name="seed"/>, like real video.
    /// </summary>
    private static int WriteRtp(byte[] buffer, uint ssrc, ushort sequence, uint timestamp, int seed)
    {
        var writer = new RtpHeaderWriter(buffer, 96, sequence, timestamp, ssrc, marker: (seed & 7) == 0);
        writer.AddOneByteExtension(1, "1"u8);
        Span<byte> value = stackalloc byte[3];
        BinaryPrimitives.WriteUInt16BigEndian(value, sequence);
        value[2] = (byte)seed;
        writer.AddOneByteExtension(2, value);
        writer.AddOneByteExtension(3, value[..2]);
        int header = writer.Complete();
        var random = new Random(seed);
        int payload = 1 + random.Next(1200);
        random.NextBytes(buffer.AsSpan(header, payload));
        return header + payload;
    }
}
