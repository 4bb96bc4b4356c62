using Teletherapy.MediaRelay.Srtp;
using static Teletherapy.MediaRelay.Tests.Srtp.SrtpTestPackets;

namespace Teletherapy.MediaRelay.Tests.Srtp;

/// <summary>Random and mutated input never throws out of the packet paths, and steady state allocates nothing.</summary>
public sealed class SrtpRobustnessTests
{
    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void HundredThousandRandomOrMutatedInputsNeverThrow(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        var random = new Random(12345 + (int)profile);
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        byte[] validRtp = BuildRtp(77, 500, payloadLength: 60, csrcCount: 1, extension: true);
        Assert.True(sender.TryProtectRtp(validRtp, RtpLength(validRtp), out int validRtpLength));
        byte[] validRtcp = BuildRtcp(77);
        Assert.True(sender.TryProtectRtcp(validRtcp, RtcpLength(validRtcp), out int validRtcpLength));

        var buffer = new byte[256];
        int accepted = 0;
        for (int i = 0; i < 100_000; i++)
        {
            bool rtcp = (i & 1) == 0;
            int length;
            if (random.Next(3) == 0)
            {
                length = random.Next(buffer.Length + 1);
                random.NextBytes(buffer.AsSpan(0, length));
                if (length > 0 && random.Next(2) == 0)
                {
                    buffer[0] = (byte)((buffer[0] & 0x3F) | 0x80); // mostly valid version to reach deeper code
                }
            }
            else
            {
                byte[] source = rtcp ? validRtcp : validRtp;
                length = rtcp ? validRtcpLength : validRtpLength;
                source.AsSpan(0, length).CopyTo(buffer);
                int mutations = 1 + random.Next(4);
                for (int m = 0; m < mutations; m++)
                {
                    buffer[random.Next(length)] ^= (byte)(1 << random.Next(8));
                }

                if (buffer.AsSpan(0, length).SequenceEqual(source.AsSpan(0, length)))
                {
                    buffer[length - 1] ^= 0x01; // two flips cancelled out: keep the input invalid
                }

                if (random.Next(4) == 0)
                {
                    length = random.Next(length + 1);
                }
            }

            bool ok = rtcp
                ? receiver.TryUnprotectRtcp(buffer, length, out _)
                : receiver.TryUnprotectRtp(buffer, length, out _);
            accepted += ok ? 1 : 0;
        }

        Assert.Equal(0, accepted);

        // The receiver still works after the barrage.
        Assert.True(receiver.TryUnprotectRtp(validRtp, validRtpLength, out _));
        Assert.True(receiver.TryUnprotectRtcp(validRtcp, validRtcpLength, out _));
    }

    [Theory]
    [MemberData(nameof(AllProfiles), MemberType = typeof(SrtpTestPackets))]
    public void SteadyStateProtectAndUnprotectAllocateNothing(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        (SrtpContext sender, SrtpContext receiver) = Pair(profile);
        byte[] template = BuildRtp(42, 0, payloadLength: 1100, extension: true);
        int length = RtpLength(template);
        var buffer = new byte[template.Length];
        byte[] rtcpTemplate = BuildRtcp(42);
        int rtcpLength = RtcpLength(rtcpTemplate);
        var rtcpBuffer = new byte[rtcpTemplate.Length];

        void Run(int count, ushort firstSeq)
        {
            for (int i = 0; i < count; i++)
            {
                template.CopyTo(buffer, 0);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(firstSeq + i));
                Assert.True(sender.TryProtectRtp(buffer, length, out int p));
                Assert.True(receiver.TryUnprotectRtp(buffer, p, out _));
                rtcpTemplate.CopyTo(rtcpBuffer, 0);
                Assert.True(sender.TryProtectRtcp(rtcpBuffer, rtcpLength, out int q));
                Assert.True(receiver.TryUnprotectRtcp(rtcpBuffer, q, out _));
            }
        }

        Run(100, 0); // warm-up: JIT, stream state, scratch buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(1000, 100);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 1024, $"{allocated} bytes allocated over 1000 packets");
    }
}
