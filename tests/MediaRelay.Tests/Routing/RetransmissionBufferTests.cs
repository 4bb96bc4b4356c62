using System.Diagnostics;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// The per-stream retransmission buffer: the packets of its window (a second at most), by original sequence number, sized
/// to the stream's bytes.
/// </summary>
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
        var buffer = new RetransmissionBuffer(new RetransmissionBlocks());
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
    public void ALowRateStreamKeepsItsFirstBlocksAndOverwritesWhatIsTooOldToAskFor()
    {
        var blocks = new RetransmissionBlocks();
        var buffer = new RetransmissionBuffer(blocks);
        var t = 100 * Second;
        // 25 packets of 300 bytes a second for five seconds: 27 fit in a block, so each block is 1.08 s old when the
        // ring comes back to it, and 32 index slots are 1.28 s.
        for (var i = 0; i < 125; i++)
        {
            buffer.Store(Packet((ushort)i, 300), (ushort)i, t + (i * Second / 25));
        }

        Assert.Equal(RetransmissionBuffer.InitialSlots, buffer.IndexSlots);
        Assert.Equal(RetransmissionBuffer.InitialBlocks, buffer.Blocks);
        Assert.Equal(RetransmissionBuffer.InitialBlocks, blocks.InUse);
        var now = t + (124 * Second / 25);
        var copy = new byte[1500];
        for (var back = 0; back <= 24; back++)
        {
            Assert.Equal(300, buffer.TryCopy((ushort)(124 - back), copy, now));
            Assert.Equal(Packet((ushort)(124 - back), 300), copy[..300]);
        }

        Assert.Equal(0, buffer.TryCopy(124 - 32, copy, now));
    }

    [Fact]
    public void AHighRateStreamGrowsTheBufferSoTheLastSecondStaysAvailable()
    {
        var buffer = new RetransmissionBuffer(new RetransmissionBlocks());
        var t = 100 * Second;
        const int Rate = 400; // packets a second, about 4 Mbit/s
        for (var i = 0; i < 2 * Rate; i++)
        {
            buffer.Store(Packet((ushort)(60000 + i)), (ushort)(60000 + i), t + (i * Second / Rate));
        }

        // Six packets of 1200 bytes to a block: when the ring is back at a block, 6 k - 5 packets have come since its
        // newest one, so k blocks keep that one (6 k - 5) / 400 s, more than a second from k = 68 on.
        Assert.Equal(512, buffer.IndexSlots);
        Assert.Equal(68, buffer.Blocks);
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
    public void ASecondOfVideoTakesLittleMoreThanItsOwnBytes()
    {
        var blocks = new RetransmissionBlocks();
        var buffer = new RetransmissionBuffer(blocks);
        var t = 100 * Second;
        // 60 packets of 1000 bytes a second (480 kbit/s): eight to a block, so 9 blocks (72 KiB) hold a second and
        // the block being written; a slot for each packet's largest size would take 90,000 bytes and more.
        for (var i = 0; i < 600; i++)
        {
            buffer.Store(Packet((ushort)i, 1000), (ushort)i, t + (i * Second / 60));
        }

        Assert.Equal(64, buffer.IndexSlots);
        Assert.Equal(9, buffer.Blocks);
        Assert.Equal(9, blocks.InUse);
        Assert.Equal(0, blocks.Kept); // growing adds blocks; none is given back
        var copy = new byte[1500];
        Assert.Equal(1000, buffer.TryCopy(599 - 59, copy, t + (599 * Second / 60)));
        Assert.Equal(Packet(599 - 59, 1000), copy[..1000]);
    }

    [Fact]
    public void AShorterWindowRefusesOlderPacketsAtOnceAndGivesTheirBlocksBackAsTheRingComesRound()
    {
        var blocks = new RetransmissionBlocks();
        var buffer = new RetransmissionBuffer(blocks);
        var t = 100 * Second;
        var copy = new byte[1500];
        // 60 packets of 1000 bytes a second, eight to a block: a second takes 9 blocks.
        for (var i = 0; i < 600; i++)
        {
            buffer.Store(Packet((ushort)i, 1000), (ushort)i, t + (i * Second / 60));
        }

        Assert.Equal(9, buffer.Blocks);
        Assert.Equal(RetransmissionBuffer.MaxAge, buffer.Window);
        var now = t + (599 * Second / 60);
        Assert.Equal(1000, buffer.TryCopy(599 - 30, copy, now));

        buffer.SetWindow(Second / 4);
        Assert.Equal(Second / 4, buffer.Window);
        Assert.Equal(0, buffer.TryCopy(599 - 30, copy, now)); // half a second old: out of the window at once
        Assert.Equal(1000, buffer.TryCopy(599 - 10, copy, now));
        Assert.Equal(9, buffer.Blocks); // the blocks go back as writing reaches them

        // Packet 600 starts a block: of the eight behind the one just filled, all but the newest two hold nothing younger
        // than a quarter of a second; the older of those two is written next, the other six go back at once.
        buffer.Store(Packet(600, 1000), 600, t + (600 * Second / 60));
        Assert.Equal(3, buffer.Blocks);
        Assert.Equal(3, blocks.InUse);
        Assert.Equal(6, blocks.Kept);
        now = t + (600 * Second / 60);
        for (var sequence = 590; sequence <= 600; sequence++)
        {
            Assert.Equal(1000, buffer.TryCopy((ushort)sequence, copy, now));
            Assert.Equal(Packet((ushort)sequence, 1000), copy[..1000]);
        }

        // Given back, a block's packets are gone even for a window that would reach them again.
        buffer.SetWindow(RetransmissionBuffer.MaxAge);
        Assert.Equal(0, buffer.TryCopy(599 - 40, copy, now));

        buffer.SetWindow(Second / 4);
        for (var i = 601; i < 720; i++)
        {
            buffer.Store(Packet((ushort)i, 1000), (ushort)i, t + (i * Second / 60));
        }

        Assert.Equal(3, buffer.Blocks); // steady: when the ring is back at a block, its newest packet is 17/60 s old

        // A longer window again grows the ring, on the numbers and the storage given back.
        buffer.SetWindow(RetransmissionBuffer.MaxAge);
        for (var i = 720; i < 1320; i++)
        {
            buffer.Store(Packet((ushort)i, 1000), (ushort)i, t + (i * Second / 60));
        }

        Assert.Equal(9, buffer.Blocks);
        Assert.Equal(9, blocks.InUse);
        Assert.Equal(0, blocks.Kept);
        now = t + (1319 * Second / 60);
        for (var back = 0; back < 60; back++)
        {
            var sequence = (ushort)(1319 - back);
            Assert.Equal(1000, buffer.TryCopy(sequence, copy, now));
            Assert.Equal(Packet(sequence, 1000), copy[..1000]);
        }

        buffer.Release();
        Assert.Equal(0, blocks.InUse);
        Assert.Equal(9, blocks.Kept);
    }

    [Fact]
    public void TheRingNeverShrinksBelowItsFirstBlocksAndAWindowIsClampedToASecond()
    {
        var buffer = new RetransmissionBuffer(new RetransmissionBlocks(), window: 1);
        var t = 100 * Second;
        for (var i = 0; i < 100; i++)
        {
            buffer.Store(Packet((ushort)i), (ushort)i, t + (i * Second));
        }

        Assert.Equal(RetransmissionBuffer.InitialBlocks, buffer.Blocks);
        Assert.Equal(1200, buffer.TryCopy(99, new byte[1500], t + (99 * Second)));
        Assert.Equal(0, buffer.TryCopy(99, new byte[1500], t + (99 * Second) + 2));
        buffer.SetWindow(10 * Second);
        Assert.Equal(RetransmissionBuffer.MaxAge, buffer.Window);
        buffer.SetWindow(-5);
        Assert.Equal(1, buffer.Window);
    }

    [Fact]
    public void GrowthStopsAtTheMaximumAndAPacketWrittenOverIsGoneThoughItsSlotStillNamesIt()
    {
        var small = new RetransmissionBuffer(new RetransmissionBlocks());
        var t = 100 * Second;
        for (var i = 0; i < 5000; i++)
        {
            small.Store(Packet((ushort)i, 100), (ushort)i, t); // all at once: every eviction is young
        }

        Assert.Equal(RetransmissionBuffer.MaxPackets, small.IndexSlots);
        Assert.Equal(100, small.TryCopy(4999, new byte[1500], t));

        var large = new RetransmissionBuffer(new RetransmissionBlocks());
        for (var i = 0; i < 3000; i++)
        {
            large.Store(Packet((ushort)i), (ushort)i, t);
        }

        // 160 blocks of six hold the last 954 to 960 packets; the index still has a slot naming 1999 (3023 never came),
        // but its block has been written over since.
        Assert.Equal(RetransmissionBuffer.MaxBlocks, large.Blocks);
        Assert.Equal(RetransmissionBuffer.MaxPackets, large.IndexSlots);
        var copy = new byte[1500];
        Assert.Equal(1200, large.TryCopy(2999, copy, t));
        Assert.Equal(1200, large.TryCopy(2999 - 950, copy, t));
        Assert.Equal(Packet(2999 - 950), copy[..1200]);
        Assert.Equal(0, large.TryCopy(2999 - 1000, copy, t));
        Assert.Equal(0, large.TryCopy(2999 - 970, copy, t));
    }

    [Fact]
    public void AReleasedBufferGivesItsBlocksBackAndStoresAndReturnsNothingMore()
    {
        var blocks = new RetransmissionBlocks();
        var buffer = new RetransmissionBuffer(blocks);
        var t = 100 * Second;
        buffer.Store(Packet(7), 7, t);
        Assert.Equal(RetransmissionBuffer.InitialBlocks, blocks.InUse);

        buffer.Release();
        buffer.Release(); // twice is once

        Assert.Equal(0, blocks.InUse);
        Assert.Equal(RetransmissionBuffer.InitialBlocks, blocks.Kept);
        Assert.Equal(0, buffer.IndexSlots);
        Assert.Equal(0, buffer.Blocks);
        Assert.Equal(0, buffer.TryCopy(7, new byte[1500], t));
        buffer.Store(Packet(8), 8, t);
        Assert.Equal(0, blocks.InUse);
    }

    [Fact]
    public void AReusedBlockShowsTheNextStreamNothingOfTheLastOne()
    {
        var blocks = new RetransmissionBlocks();
        var first = new RetransmissionBuffer(blocks);
        var t = 100 * Second;
        for (var i = 0; i < 32; i++)
        {
            first.Store(Packet((ushort)i), (ushort)i, t);
        }

        Assert.Equal(6, first.Blocks); // 32 packets, six to a block
        first.Release();
        var second = new RetransmissionBuffer(blocks);
        Assert.Equal(6 - RetransmissionBuffer.InitialBlocks, blocks.Kept); // it took two of those blocks
        var copy = new byte[1500];
        for (var i = 0; i < 32; i++)
        {
            Assert.Equal(0, second.TryCopy((ushort)i, copy, t));
        }

        second.Store(Packet(3, 40), 3, t);
        Assert.Equal(40, second.TryCopy(3, copy, t));
        Assert.Equal(Packet(3, 40), copy[..40]);
    }

    [Fact]
    public void StreamsThatComeAndGoReuseTheSameBlocksWhateverTheirRate()
    {
        var blocks = new RetransmissionBlocks();
        var t = 100 * Second;
        var keptAfter = new List<int>();
        var most = 0;
        for (var round = 0; round < 20; round++)
        {
            // Each round five streams at rates from 25 to 400 packets a second, for two seconds, then they end. The
            // rates rotate among the streams, so every five rounds have met every order of growth.
            var buffers = new List<RetransmissionBuffer>();
            for (var s = 0; s < 5; s++)
            {
                var rate = 25 << ((s + round) % 5);
                var buffer = new RetransmissionBuffer(blocks);
                buffers.Add(buffer);
                for (var i = 0; i < 2 * rate; i++)
                {
                    buffer.Store(Packet((ushort)i), (ushort)i, t + (i * Second / rate));
                }
            }

            most = Math.Max(most, blocks.InUse);
            buffers.ForEach(b => b.Release());
            Assert.Equal(0, blocks.InUse);
            keptAfter.Add(blocks.Kept);
        }

        // Six 1200-byte packets to a block, so a stream of r a second needs the smallest k with 6 k - 5 > r:
        // 6 + 10 + 18 + 35 + 68 blocks. The first round made them; no later round made another.
        Assert.Equal(137, most);
        Assert.All(keptAfter, kept => Assert.Equal(most, kept));
    }

    [Fact]
    public void BlocksNobodyTookForAWholeIntervalAreLetGo()
    {
        var blocks = new RetransmissionBlocks(trimInterval: 60 * Second);
        var t = 100 * Second;
        var held = Enumerable.Range(0, 10).Select(_ => blocks.Rent()).ToList();
        held.ForEach(blocks.Return);
        Assert.Equal(10, blocks.Kept);

        Assert.Equal(0, blocks.Trim(t)); // the first call starts the interval
        var taken = new[] { blocks.Rent(), blocks.Rent(), blocks.Rent() }; // at least 7 stayed kept throughout
        Assert.Equal(0, blocks.Trim(t + (59 * Second)));
        foreach (var block in taken)
        {
            blocks.Return(block);
        }

        Assert.Equal(7, blocks.Trim(t + (60 * Second)));
        Assert.Equal(3, blocks.Kept);

        // The next interval: the three are taken and given back; none stayed kept all along, so none go.
        var again = new[] { blocks.Rent(), blocks.Rent(), blocks.Rent() };
        foreach (var block in again)
        {
            blocks.Return(block);
        }

        Assert.Equal(0, blocks.Trim(t + (120 * Second)));
        Assert.Equal(3, blocks.Kept);
        Assert.Equal(3, blocks.Trim(t + (180 * Second)));
        Assert.Equal(0, blocks.Kept);
        Assert.Throws<ArgumentException>(() => blocks.Return(new byte[100]));
    }
}
