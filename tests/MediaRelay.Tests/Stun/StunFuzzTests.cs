using System.Text;
using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Tests.Fuzzing;

namespace Teletherapy.MediaRelay.Tests.Stun;

public class StunFuzzTests
{
    private const int Iterations = 100_000;

    private static IEnumerable<byte[]> Seeds()
    {
        yield return StunRfc5769Tests.SampleRequest;
        yield return StunRfc5769Tests.SampleIpv4Response;
        yield return StunRfc5769Tests.SampleIpv6Response;
        byte[] id = new byte[12];
        byte[] buffer = new byte[256];
        int length = StunMessages.WriteBindingRequest(buffer, id, "a:b"u8, 1, 2, true, "pwd"u8);
        yield return buffer[..length];
        length = StunMessages.WriteBindingSuccess(buffer, id, new byte[16], 9, "pwd"u8);
        yield return buffer[..length];
        length = StunMessages.WriteBindingError(buffer, id, 487, "Role Conflict", "pwd"u8);
        yield return buffer[..length];
    }

    [Fact]
    public void RandomAndMutatedInput_NeverThrowsAndStaysInBounds()
    {
        // Offset 2 is the message length, 22 the first attribute's length.
        var mutator = new PacketMutator(5769, Seeds(), 2, 22, 26, 30);
        byte[] key = Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBt");
        Span<byte> address = stackalloc byte[16];
        int accepted = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = mutator.Next();
            StunMessage.IsStun(input);
            if (!StunMessage.TryRead(input, out StunMessage message))
            {
                continue;
            }

            accepted++;
            Assert.InRange(message.Buffer.Length, StunMessage.HeaderLength, input.Length);
            Assert.Equal(message.Buffer.Length - StunMessage.HeaderLength, message.AttributesLength);
            foreach (StunAttribute attribute in message.Attributes)
            {
                Assert.InRange(attribute.Offset + 4 + attribute.Value.Length, 0, message.Buffer.Length);
            }

            _ = message.Class;
            _ = message.Method;
            message.TryGetUsername(out _);
            message.TryGetPriority(out _);
            message.TryGetIceControlled(out _);
            message.TryGetIceControlling(out _);
            _ = message.HasUseCandidate;
            message.TryGetErrorCode(out _, out _);
            if (message.TryGetXorMappedAddress(address, out int addressLength, out _))
            {
                Assert.True(addressLength is 4 or 16);
            }

            message.VerifyMessageIntegrity(key);
            message.VerifyFingerprint();
        }

        Assert.True(accepted > Iterations / 10, $"only {accepted} inputs were accepted; the mutations are too destructive");
    }
}
