using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Transport;

public sealed class DemultiplexerTests
{
    [Theory]
    [InlineData(0, 1, "Stun")]
    [InlineData(3, 0, "Stun")]
    [InlineData(4, 0, "Unknown")]
    [InlineData(19, 0, "Unknown")]
    [InlineData(20, 254, "Dtls")]
    [InlineData(22, 254, "Dtls")]
    [InlineData(63, 0, "Dtls")]
    [InlineData(64, 0, "TurnChannel")]
    [InlineData(79, 0, "TurnChannel")]
    [InlineData(80, 0, "Unknown")]
    [InlineData(127, 0, "Unknown")]
    [InlineData(0x80, 96, "Rtp")]
    [InlineData(0x90, 0xE0, "Rtp")] // marker set, PT 96: second byte 224, just above the RTCP range
    [InlineData(0x80, 191, "Rtp")] // marker set, PT 63: just below the RTCP range
    [InlineData(0x80, 192, "Rtcp")] // FIR (RFC 2032), lowest RTCP type
    [InlineData(0x80, 200, "Rtcp")] // SR
    [InlineData(0x81, 206, "Rtcp")] // PLI
    [InlineData(0xBF, 223, "Rtcp")]
    [InlineData(191, 96, "Rtp")]
    [InlineData(192, 96, "Unknown")]
    [InlineData(255, 96, "Unknown")]
    public void ClassifiesByFirstAndSecondByte(int first, int second, string expected)
    {
        byte[] packet = [(byte)first, (byte)second, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(Enum.Parse<PacketClass>(expected), Demultiplexer.Classify(packet));
    }

    [Fact]
    public void TooShortToClassifyIsUnknown()
    {
        Assert.Equal(PacketClass.Unknown, Demultiplexer.Classify([]));
        Assert.Equal(PacketClass.Unknown, Demultiplexer.Classify([0x80]));
        Assert.Equal(PacketClass.Unknown, Demultiplexer.Classify([0x00]));
    }

    [Fact]
    public void ARealBindingRequestIsStun()
    {
        byte[] buffer = new byte[256];
        int length = StunMessages.WriteBindingRequest(buffer, new byte[12], "abcd:efgh"u8, 1, 2, useCandidate: true, "password"u8);
        Assert.Equal(PacketClass.Stun, Demultiplexer.Classify(buffer.AsSpan(0, length)));
    }
}
