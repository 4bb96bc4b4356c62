using Microsoft.Extensions.Time.Testing;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>A subscriber's sequence numbers and timestamps: one gap-free stream across layer switches and restarts.</summary>
public sealed class OutgoingNumberingTests
{
    private const int ClockRate = 90_000;

    [Fact]
    public void TheFirstStreamContinuesFromTheStartingValues()
    {
        var numbering = new OutgoingNumbering(ClockRate, lastSequence: 65_535, lastTimestamp: 1_000);
        Resynchronize(numbering, 40_000, 123);

        Assert.True(Map(numbering, 40_000, 123, out var sequence, out var timestamp));
        Assert.Equal(0, sequence); // wraps
        Assert.Equal(1_001u, timestamp); // nothing sent before: one tick on
        Assert.True(Map(numbering, 40_001, 3_123, out sequence, out timestamp));
        Assert.Equal(1, sequence);
        Assert.Equal(4_001u, timestamp);

        // A packet that arrived late keeps its place and is not the newest.
        Assert.False(Map(numbering, 39_999, 0, out sequence, out timestamp));
        Assert.Equal(65_535, sequence);
        Assert.Equal(878u, timestamp);
    }

    [Fact]
    public void ANewStreamContinuesAfterTheNewestPacketWithItsTimeAdvancedByTheWallClock()
    {
        var time = new FakeTimeProvider();
        var numbering = new OutgoingNumbering(ClockRate, lastSequence: 100, lastTimestamp: 5_000, new RoutingClock(time));
        Resynchronize(numbering, 10, 0);
        Map(numbering, 10, 0, out _, out _);
        Map(numbering, 11, 3_000, out _, out var last);
        Map(numbering, 9, 0, out _, out _); // late: the next stream does not continue from it
        Assert.Equal(last, numbering.TimestampNow());
        time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(last + (10 * ClockRate / 1000), numbering.TimestampNow()); // for a Sender Report

        time.Advance(TimeSpan.FromMilliseconds(10));
        Resynchronize(numbering, 50_000, 777_777);
        Assert.True(Map(numbering, 50_000, 777_777, out var sequence, out var timestamp));
        Assert.Equal(103, sequence);
        Assert.Equal(last + (20 * ClockRate / 1000), timestamp); // the 20 ms since the newest packet
        Assert.Equal(timestamp - 777_777, numbering.TimestampOffset);
    }

    private static byte[] Packet(ushort sequence, uint timestamp)
    {
        var packet = new byte[RtpHeader.FixedLength + 4];
        new RtpHeaderWriter(packet, 96, sequence, timestamp, 0x1234, marker: false).Complete();
        return packet;
    }

    private static void Resynchronize(OutgoingNumbering numbering, ushort sequence, uint timestamp)
    {
        Assert.True(RtpHeader.TryRead(Packet(sequence, timestamp), out var header));
        numbering.Resynchronize(header);
    }

    private static bool Map(OutgoingNumbering numbering, ushort sequence, uint timestamp, out ushort mapped, out uint mappedTimestamp)
    {
        Assert.True(RtpHeader.TryRead(Packet(sequence, timestamp), out var header));
        return numbering.Map(header, out mapped, out mappedTimestamp);
    }
}
