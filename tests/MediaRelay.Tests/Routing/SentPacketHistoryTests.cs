using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>A consumer's history of what it sent: found by our sequence number to answer NACKs exactly as first sent.</summary>
public sealed class SentPacketHistoryTests
{
    private static readonly long Second = Stopwatch.Frequency;

    private static readonly long T = 100 * Second;

    [Fact]
    public void APacketIsFoundWithHowItWasSentUntilALaterOneTakesItsSlot()
    {
        var history = new SentPacketHistory();
        history.Remember(65_000, original: 12_345, encoding: 2, timestampOffset: 0xDEAD_BEEF, new Vp8Offsets(300, 7), T);

        Assert.True(history.Contains(65_000));
        Assert.True(history.TryGet(65_000, out var sent));
        Assert.Equal(new SentPacket(65_000, 12_345, 2, 0xDEAD_BEEF, new Vp8Offsets(300, 7)), sent);

        // Two seconds later 65,128 takes the same slot: 65,000 is too old to keep it.
        history.Remember(unchecked((ushort)(65_000 + SentPacketHistory.InitialSize)), original: 1, encoding: 0, timestampOffset: 0, default, T + (2 * Second));
        Assert.False(history.Contains(65_000));
        Assert.False(history.TryGet(65_000, out _));
        Assert.True(history.TryGet(65_128, out sent));
        Assert.Equal(SentPacketHistory.InitialSize, history.Size);
        Assert.Equal(1, sent.Original);
    }

    [Fact]
    public void NothingIsFoundThatWasNotSent()
    {
        var history = new SentPacketHistory();
        Assert.False(history.Contains(0)); // an empty slot is not sequence number 0
        Assert.False(history.TryGet(0, out _));
        Assert.False(history.MarkNacked(0));

        history.Remember(5, original: 5, encoding: 0, timestampOffset: 0, default, T + (2 * Second));
        Assert.False(history.Contains(6));
        Assert.False(history.TryGet(5 + SentPacketHistory.InitialSize, out _));
    }

    [Fact]
    public void OnlyTheFirstNackOfAPacketCounts()
    {
        var history = new SentPacketHistory();
        history.Remember(10, original: 100, encoding: 1, timestampOffset: 0, default, T + (2 * Second));

        Assert.True(history.MarkNacked(10));
        Assert.False(history.MarkNacked(10));

        // Sent again as a new packet under the same number (after a wrap): its first NACK counts again.
        history.Remember(10, original: 200, encoding: 1, timestampOffset: 0, default, T + (2 * Second));
        Assert.True(history.MarkNacked(10));
    }

    [Fact]
    public void TheHistoryGrowsSoEveryPacketOfTheLastSecondIsFoundAndNoFurther()
    {
        var history = new SentPacketHistory();

        // 60 packets a second for five seconds: 128 slots are two seconds.
        for (var i = 0; i < 300; i++)
        {
            history.Remember((ushort)i, original: (ushort)(i + 7), encoding: 0, timestampOffset: 0, default, T + (i * Second / 60));
        }

        Assert.Equal(SentPacketHistory.InitialSize, history.Size);

        // 400 a second (4 Mbit/s) from then on: a slot's packet is younger than a second until there are 512 slots.
        for (var i = 300; i < 1100; i++)
        {
            history.Remember((ushort)i, original: (ushort)(i + 7), encoding: 1, timestampOffset: 0, default, T + (5 * Second) + ((i - 300) * Second / 400));
        }

        Assert.Equal(512, history.Size);
        for (var back = 0; back < 400; back++)
        {
            Assert.True(history.TryGet((ushort)(1099 - back), out var sent));
            Assert.Equal((ushort)(1099 - back + 7), sent.Original);
            Assert.True(history.Contains((ushort)(1099 - back)));
        }

        // Everything at once: growth stops at the most the producer's buffer holds.
        for (var i = 2000; i < 5000; i++)
        {
            history.Remember((ushort)i, original: 0, encoding: 1, timestampOffset: 0, default, T + (8 * Second));
        }

        Assert.Equal(SentPacketHistory.MaxSize, history.Size);
        Assert.True(history.Contains(4999));
        Assert.True(history.Contains(4999 - 1023));
        Assert.False(history.Contains(4999 - 1024));
    }
}
