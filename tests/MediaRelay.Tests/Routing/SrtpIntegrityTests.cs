using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Transport;
using static Teletherapy.MediaRelay.Tests.Routing.RoutingAssertions;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// SRTP integrity end to end: a real client over loopback UDP, after a real ICE check and DTLS handshake, sends the
/// relay SRTP and SRTCP packets that are altered, replayed, or older than the replay window. None reaches the
/// subscriber, and each kind is counted under its own reason on the publisher's connection (and in the metrics).
/// </summary>
public sealed class SrtpIntegrityTests
{
    /// <summary>Packets of each bad kind, for RTP and again for RTCP.</summary>
    private const int PerKind = 40;

    /// <summary>Good packets sent between the held-back ones and the attack: more than the 128-packet replay window.</summary>
    private const int Good = 200;

    private static readonly TimeSpan StepTimeout = SyntheticPeer.StepTimeout;

    [Fact(Timeout = 60000)]
    public async Task AlteredReplayedAndOutOfWindowPacketsAreRefusedAndCountedEachUnderItsOwnReason()
    {
        using var relay = await RelayHarness.StartAsync();
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        var client = alice.PublishTransport!;
        var server = alice.Peer.PublishTransport!;
        var audioSsrc = TracksFrom(bob, alice).Audio.Ssrc;
        int AudioAtBob() => bob.StreamOf(audioSsrc).Count;
        var globalBefore = (Auth: RelayMetrics.DroppedSrtpFailed.Value, Replay: RelayMetrics.DroppedSrtpReplay.Value, Old: RelayMetrics.DroppedSrtpOutOfWindow.Value);

        // Protected now, sent only after the window has moved on past them.
        var heldRtp = Enumerable.Range(0, PerKind).Select(_ => Protect(client, alice.WriteAudio, rtcp: false)).ToList();
        var heldRtcp = Enumerable.Range(0, PerKind).Select(_ => Protect(client, b => ReceiverReport.Write(b, alice.AudioSsrc, []), rtcp: true)).ToList();
        var goodRtp = Enumerable.Range(0, Good).Select(_ => Protect(client, alice.WriteAudio, rtcp: false)).ToList();
        var goodRtcp = Enumerable.Range(0, Good).Select(_ => Protect(client, b => ReceiverReport.Write(b, alice.AudioSsrc, []), rtcp: true)).ToList();
        SendAll(client, goodRtp.Zip(goodRtcp).SelectMany(pair => new[] { pair.First, pair.Second }));
        await RelayHarness.WaitUntilAsync(() => AudioAtBob() == Good, StepTimeout, () => $"{Good} good audio packets at bob (has {AudioAtBob()})");
        Assert.Equal((0, 0, 0), (server.SrtpAuthFailures, server.SrtpReplays, server.SrtpOutOfWindow));

        // Replays: the newest good packets again, inside the window.
        SendAll(client, goodRtp[^PerKind..].Concat(goodRtcp[^PerKind..]));

        // Altered: fresh packets (new indexes) with one bit flipped: RTP in its encrypted payload or tag, RTCP in the
        // SSRC of its authenticated header (its trailer holds the SRTCP index, which would make a replay of some).
        var tampered = new List<byte[]>();
        for (var i = 0; i < PerKind; i++)
        {
            var rtp = Protect(client, alice.WriteAudio, rtcp: false);
            rtp[^(1 + (i % 20))] ^= 0x01;
            var rtcp = Protect(client, b => ReceiverReport.Write(b, alice.AudioSsrc, []), rtcp: true);
            rtcp[7] ^= (byte)(1 << (i % 8));
            tampered.Add(rtp);
            tampered.Add(rtcp);
        }

        SendAll(client, tampered);

        // Out of window: the held-back packets, now more than 128 behind the newest.
        SendAll(client, heldRtp.Concat(heldRtcp));

        // A last few good packets: once they are through, so is everything sent before them (one socket, one reader).
        SendAll(client, Enumerable.Range(0, 5).Select(_ => Protect(client, alice.WriteAudio, rtcp: false)));
        await RelayHarness.WaitUntilAsync(() => AudioAtBob() >= Good + 5, StepTimeout, () => $"the last good packets at bob (has {AudioAtBob()})");
        await Task.Delay(200);

        Assert.Equal(Good + 5, AudioAtBob());
        Assert.Equal(2 * PerKind, server.SrtpAuthFailures);
        Assert.Equal(2 * PerKind, server.SrtpReplays);
        Assert.Equal(2 * PerKind, server.SrtpOutOfWindow);
        Assert.True(RelayMetrics.DroppedSrtpFailed.Value - globalBefore.Auth >= 2 * PerKind, "srtp-auth counted");
        Assert.True(RelayMetrics.DroppedSrtpReplay.Value - globalBefore.Replay >= 2 * PerKind, "srtp-replay counted");
        Assert.True(RelayMetrics.DroppedSrtpOutOfWindow.Value - globalBefore.Old >= 2 * PerKind, "srtp-out-of-window counted");

        // What bob got is alice's good audio, intact and in order: nothing of the attack was forwarded.
        var payloads = bob.StreamOf(audioSsrc).Snapshot().Select(p => SyntheticPeer.SignatureOf(p.Payload)).ToList();
        Assert.Equal(payloads.Distinct().Count(), payloads.Count);
        Assert.All(payloads, signature => Assert.Equal(alice.AudioSsrc, signature.Ssrc));
    }

    /// <summary>Writes a packet with <paramref name="write"/> and protects it on <paramref name="client"/>'s outbound context, unsent.</summary>
    private static byte[] Protect(WebRtcClientTransport client, WritePacket write, bool rtcp)
    {
        var buffer = new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
        var length = write(buffer);
        Assert.True(client.Protect(buffer, length, rtcp, out var protectedLength));
        return buffer[..protectedLength];
    }

    private static void SendAll(WebRtcClientTransport client, IEnumerable<byte[]> datagrams)
    {
        foreach (var datagram in datagrams)
        {
            Assert.True(client.SendProtected(datagram));
        }
    }

    private delegate int WritePacket(Span<byte> buffer);
}
