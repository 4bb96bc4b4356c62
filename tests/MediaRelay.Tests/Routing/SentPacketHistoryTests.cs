using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>A consumer's history of what it sent: found by our sequence number to answer NACKs exactly as first sent.</summary>
public sealed class SentPacketHistoryTests
{
    [Fact]
    public void APacketIsFoundWithHowItWasSentUntilOneASizeLaterTakesItsSlot()
    {
        var history = new SentPacketHistory();
        history.Remember(65_000, original: 12_345, encoding: 2, timestampOffset: 0xDEAD_BEEF, new Vp8Offsets(300, 7));

        Assert.True(history.Contains(65_000));
        Assert.True(history.TryGet(65_000, out var sent));
        Assert.Equal(new SentPacket(65_000, 12_345, 2, 0xDEAD_BEEF, new Vp8Offsets(300, 7)), sent);

        // 65,000 + 1024 wraps to 488: the same slot.
        history.Remember(unchecked((ushort)(65_000 + SentPacketHistory.Size)), original: 1, encoding: 0, timestampOffset: 0, default);
        Assert.False(history.Contains(65_000));
        Assert.False(history.TryGet(65_000, out _));
        Assert.True(history.TryGet(488, out sent));
        Assert.Equal(1, sent.Original);
    }

    [Fact]
    public void NothingIsFoundThatWasNotSent()
    {
        var history = new SentPacketHistory();
        Assert.False(history.Contains(0)); // an empty slot is not sequence number 0
        Assert.False(history.TryGet(0, out _));
        Assert.False(history.MarkNacked(0));

        history.Remember(5, original: 5, encoding: 0, timestampOffset: 0, default);
        Assert.False(history.Contains(6));
        Assert.False(history.TryGet(5 + SentPacketHistory.Size, out _));
    }

    [Fact]
    public void OnlyTheFirstNackOfAPacketCounts()
    {
        var history = new SentPacketHistory();
        history.Remember(10, original: 100, encoding: 1, timestampOffset: 0, default);

        Assert.True(history.MarkNacked(10));
        Assert.False(history.MarkNacked(10));

        // Sent again as a new packet under the same number (after a wrap): its first NACK counts again.
        history.Remember(10, original: 200, encoding: 1, timestampOffset: 0, default);
        Assert.True(history.MarkNacked(10));
    }
}
