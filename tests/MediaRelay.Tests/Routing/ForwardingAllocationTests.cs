using Microsoft.Extensions.Time.Testing;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;
using static Teletherapy.MediaRelay.Tests.Routing.RoutingAssertions;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>The forward path (producer → consumers → SRTP → socket) allocates nothing per packet.</summary>
public sealed class ForwardingAllocationTests
{
    private const int Forwards = 1000;

    [Fact(Timeout = 30000)]
    public async Task ForwardingAThousandPacketsToAConnectedSubscriberAllocatesNothing()
    {
        // The relay's clock stands still: every packet of the warm-up is as young as the last, so the retransmission
        // buffer grows to its largest however slowly this machine forwards them, and not in the measured part.
        using var relay = await RelayHarness.StartAsync(time: new FakeTimeProvider(DateTimeOffset.UtcNow));
        var alice = await relay.JoinAndPublishAsync("alice", IceTransportProtocol.Udp);
        var bob = await relay.JoinAndPublishAsync("bob", IceTransportProtocol.Udp);
        await bob.SubscribeAsync();
        for (var i = 0; i < 5; i++)
        {
            alice.SendAudio();
            alice.SendVideoFrame();
        }

        await RelayHarness.WaitUntilAsync(() => HasReceived(bob, alice, 5, 5), SyntheticPeer.StepTimeout, "bob's consumers started");
        var audio = alice.Peer.Producers.Single(p => p.Kind == MediaKind.Audio);
        var video = alice.Peer.Producers.Single(p => p.Kind == MediaKind.Video);

        // Packets are made beforehand: only what the relay does with them is measured. A first round warms up this
        // thread's pooled buffers in every size class the packets need (a class's first rent allocates once), and grows
        // the retransmission buffer to its largest (these packets come faster than any real stream): its index and its
        // blocks, filled with video of at least 200 bytes a packet.
        var videoToFill = Math.Max(RetransmissionBuffer.MaxPackets, RetransmissionBuffer.MaxBlocks * RetransmissionBlocks.BlockLength / 200);
        var warmup = 2 * (videoToFill + 100);
        var packets = new (byte[] Buffer, int Length, Producer Producer)[warmup + (2 * Forwards)];
        for (var i = 0; i < packets.Length; i++)
        {
            var buffer = new byte[1500];
            packets[i] = i % 2 == 0 ? (buffer, alice.WriteAudio(buffer), audio) : (buffer, alice.WriteVideoFrame(buffer), video);
        }

        var received = bob.ReceivedPackets;
        for (var i = 0; i < warmup; i++)
        {
            Forward(packets[i]);
            if ((i + 1) % 1000 == 0)
            {
                // A thousand at a time, each waited for at bob: a burst of all of them would overflow bob's socket.
                var sent = i + 1;
                await RelayHarness.WaitUntilAsync(() => bob.ReceivedPackets >= received + sent, SyntheticPeer.StepTimeout, () => $"the warm-up at bob ({bob.ReceivedPackets - received} of {sent})");
            }
        }

        // Two measured rounds on this thread, bob taking in the first before the second (waited for here, not awaited, so
        // the second round runs on the same thread). A lock on the path that another thread holds at that moment makes its
        // wait event on the waiting thread the first time, once: one of the rounds may show a one-off like that, never
        // both, and never anything a packet's worth (a thousand packets' allocations would be tens of kilobytes).
        var first = ForwardMeasured(packets, warmup, warmup + Forwards);
        Assert.True(
            SpinWait.SpinUntil(() => bob.ReceivedPackets >= received + warmup + Forwards, SyntheticPeer.StepTimeout),
            $"the first measured round at bob ({bob.ReceivedPackets - received} of {warmup + Forwards})");
        var second = ForwardMeasured(packets, warmup + Forwards, packets.Length);
        Assert.True(
            Math.Min(first, second) == 0 && Math.Max(first, second) < 1024,
            $"{first} and {second} bytes allocated forwarding {Forwards} packets in each of two rounds");
        await RelayHarness.WaitUntilAsync(() => bob.ReceivedPackets >= received + packets.Length, SyntheticPeer.StepTimeout, () => $"every forwarded packet at bob ({bob.ReceivedPackets - received} of {packets.Length})");
        AssertForwardedIntact(bob, alice);
    }

    /// <summary>Forwards packets [<paramref name="from"/>, <paramref name="to"/>) and returns what this thread allocated meanwhile.</summary>
    private static long ForwardMeasured((byte[] Buffer, int Length, Producer Producer)[] packets, int from, int to)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = from; i < to; i++)
        {
            Forward(packets[i]);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void Forward((byte[] Buffer, int Length, Producer Producer) packet)
    {
        var span = packet.Buffer.AsSpan(0, packet.Length);
        Assert.True(RtpHeader.TryRead(span, out var header));
        packet.Producer.OnRtp(span, header, 0);
    }
}
