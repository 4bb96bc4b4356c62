using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Tests.Fuzzing;

namespace Teletherapy.MediaRelay.Tests.Rtp;

public class RtpFuzzTests
{
    private const int Iterations = 100_000;

    private static IEnumerable<byte[]> Seeds()
    {
        yield return RtpHeaderTests.Packet;
        yield return Hex.Parse("90 60 00 01 00 00 00 01 00 00 00 01 10 00 00 02 01 00 00 C8 03 0A 0B 0C 90 F0 92 34 56 A5 10 02 00");
        yield return Hex.Parse("A0 60 00 01 00 00 00 01 00 00 00 01 78 00 02 09 F0 00 03 67 42 00 00 02 68 CE 00 00 03");
        yield return Hex.Parse("80 66 00 01 00 00 00 01 00 00 00 01 7C 85 88 99");
        byte[] buffer = new byte[64];
        var writer = new RtpHeaderWriter(buffer, 96, 1, 2, 3, true);
        writer.AddOneByteExtension(1, [1, 2, 3]);
        writer.AddOneByteExtension(14, new byte[16]);
        int length = writer.Complete();
        byte[] packet = new byte[length + 6];
        buffer.AsSpan(0, length).CopyTo(packet);
        Hex.Parse("90 80 7F 55 00 01").CopyTo(packet, length);
        yield return packet;
    }

    [Fact]
    public void RandomAndMutatedInput_NeverThrowsAndStaysInBounds()
    {
        // Offset 14 is the extension length when there is no CSRC, 18 with one CSRC.
        var mutator = new PacketMutator(3550, Seeds(), 14, 18);
        byte[] idMap = new byte[256];
        int accepted = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = mutator.Next();
            ExercisePayloadHelpers(input);
            if (!RtpHeader.TryRead(input, out RtpHeader header))
            {
                continue;
            }

            accepted++;
            Assert.Equal(input.Length, header.HeaderLength + header.PayloadLength + header.PaddingLength);
            Assert.InRange(header.HeaderLength, RtpHeader.FixedLength, input.Length);
            Assert.True(header.PayloadLength >= 0);
            Assert.Equal(RtpHeader.Version2, header.Version);
            int elements = 0;
            foreach (RtpHeaderExtension element in header.Extensions)
            {
                elements++;
                Assert.InRange(element.ElementOffset, header.ExtensionOffset, header.HeaderLength - 1);
                Assert.InRange(element.ValueOffset + element.Value.Length, element.ValueOffset, header.HeaderLength);
            }

            _ = header.TryGetExtension((byte)mutator.Random.Next(256), out _);
            int payloadLength = header.PayloadLength;
            int headerLength = header.HeaderLength;
            ExercisePayloadHelpers(header.Payload.ToArray());

            mutator.Random.NextBytes(idMap);
            byte[] copy = (byte[])input.Clone();
            RtpHeaderRewriter.RewriteExtensionIds(copy, idMap);
            RtpHeaderRewriter.TrySetExtensionValue(copy, (byte)mutator.Random.Next(16), [1, 2]);
            Assert.True(RtpHeader.TryRead(copy, out RtpHeader rewritten));
            Assert.Equal(headerLength, rewritten.HeaderLength);
            Assert.Equal(payloadLength, rewritten.PayloadLength);
            int rewrittenElements = 0;
            foreach (RtpHeaderExtension element in rewritten.Extensions)
            {
                rewrittenElements++;
                Assert.NotEqual(0, element.Id);
            }

            Assert.True(rewrittenElements <= elements);
        }

        Assert.True(accepted > Iterations / 10, $"only {accepted} inputs were accepted");
    }

    private static void ExercisePayloadHelpers(byte[] payload)
    {
        H264Payload.IsKeyframe(payload);
        Vp8PayloadDescriptor.IsKeyframePayload(payload);
        if (Vp8PayloadDescriptor.TryRead(payload, out Vp8PayloadDescriptor descriptor))
        {
            Assert.InRange(descriptor.Length, 1, payload.Length);
            Assert.InRange(descriptor.PictureId, -1, 0x7FFF);
            Assert.InRange(descriptor.Tl0PicIdx, -1, 255);
            Assert.InRange(descriptor.TemporalLayerIndex, -1, 3);
            Assert.InRange(descriptor.KeyIndex, -1, 31);
            _ = descriptor.IsLayerSync;
            _ = descriptor.IsKeyframe;
            bool hadPictureId = descriptor.HasPictureId;
            byte[] copy = (byte[])payload.Clone();
            Assert.Equal(hadPictureId, Vp8PayloadDescriptor.TrySetPictureId(copy, 12345));
            Vp8PayloadDescriptor.TrySetTl0PicIdx(copy, 9);
            Assert.True(Vp8PayloadDescriptor.TryRead(copy, out Vp8PayloadDescriptor after));
            Assert.Equal(descriptor.Length, after.Length);
        }
    }
}
