using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>The per-stream retransmission buffer: a second of packets, by original sequence number, sized to the stream's rate.</summary>
public sealed class RetransmissionBufferTests
{
    private static readonly long Second = Stopwatch.Frequency;

    private static byte[] Packet(ushort sequence, int length = 1200)
    {
        var packet = new byte[length];
        packet[0] = (byte)(sequence >> 8);
        packet[1] = (byte)sequence;
        packet[^1] = (byte)(sequence * 7);
        return packet;
    }

    [Fact]
    public void AStoredPacketComesBackByItsSequenceNumberUntilItIsASecondOld()
    {
        var buffer = new RetransmissionBuffer();
        var t = 100 * Second;
        buffer.Store(Packet(65535), 65535, t);
        buffer.Store(Packet(0, 300), 0, t);
        var copy = new byte[1500];
        Assert.Equal(1200, buffer.TryCopy(65535, copy, t + (Second / 2)));
        Assert.Equal(Packet(65535), copy[..1200]);
        Assert.Equal(300, buffer.TryCopy(0, copy, t + Second));
        Assert.Equal(0, buffer.TryCopy(0, copy, t + Second + 1));
        Assert.Equal(0, buffer.TryCopy(1, copy, t));
        Assert.Equal(0, buffer.TryCopy(0, new byte[100], t)); // too small a destination
    }

    [Fact]
    public void ALowRateStreamKeepsTheInitialSlotsAndOverwritesWhatIsTooOldToAskFor()
    {
        var buffer = new RetransmissionBuffer();
        var t = 100 * Second;
        // 60 packets a second for five seconds: 128 slots hold two seconds.
        for (var i = 0; i < 300; i++)
        {
            buffer.Store(Packet((ushort)i), (ushort)i, t + (i * Second / 60));
        }

        Assert.Equal(RetransmissionBuffer.InitialCapacity, buffer.Capacity);
        var now = t + (299 * Second / 60);
        var copy = new byte[1500];
        Assert.Equal(1200, buffer.TryCopy(299 - 59, copy, now));
        Assert.Equal(0, buffer.TryCopy(299 - 128, copy, now));
    }

    [Fact]
    public void AHighRateStreamGrowsTheBufferSoTheLastSecondStaysAvailable()
    {
        var buffer = new RetransmissionBuffer();
        var t = 100 * Second;
        const int Rate = 400; // packets a second, about 4 Mbit/s
        for (var i = 0; i < 2 * Rate; i++)
        {
            buffer.Store(Packet((ushort)(60000 + i)), (ushort)(60000 + i), t + (i * Second / Rate));
        }

        Assert.Equal(512, buffer.Capacity);
        var now = t + (((2 * Rate) - 1) * Second / Rate);
        var copy = new byte[1500];
        for (var back = 0; back < Rate; back++)
        {
            var sequence = (ushort)(60000 + (2 * Rate) - 1 - back);
            Assert.Equal(1200, buffer.TryCopy(sequence, copy, now));
            Assert.Equal(Packet(sequence), copy[..1200]);
        }
    }

    [Fact]
    public void GrowthStopsAtTheMaximum()
    {
        var buffer = new RetransmissionBuffer();
        var t = 100 * Second;
        for (var i = 0; i < 5000; i++)
        {
            buffer.Store(Packet((ushort)i, 100), (ushort)i, t); // all at once: every eviction is young
        }

        Assert.Equal(RetransmissionBuffer.MaxCapacity, buffer.Capacity);
        Assert.Equal(100, buffer.TryCopy(4999, new byte[1500], t));
    }
}
