using System.Buffers.Binary;
using System.Net;
using System.Text;
using Teletherapy.MediaRelay.Stun;

namespace Teletherapy.MediaRelay.Tests.Stun;

public class StunWriterTests
{
    private static readonly byte[] TransactionId = Hex.Parse("0102030405060708090a0b0c");
    private static readonly byte[] Password = Encoding.UTF8.GetBytes("abcdefghijklmnopqrstuvwxyz");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BindingRequest_RoundTrips(bool useCandidate)
    {
        byte[] buffer = new byte[512];
        int length = StunMessages.WriteBindingRequest(buffer, TransactionId, Encoding.UTF8.GetBytes("sfu1:brw"), 0x6E7F1EFF, 0x1122334455667788, useCandidate, Password);

        Assert.Equal(0, length % 4);
        Assert.True(StunMessage.TryRead(buffer.AsSpan(0, length), out StunMessage message));
        Assert.Equal(length, message.Buffer.Length);
        Assert.Equal(StunClass.Request, message.Class);
        Assert.Equal(0x0001, message.MessageType);
        Assert.Equal(TransactionId, message.TransactionId.ToArray());
        Assert.True(message.TryGetUsername(out ReadOnlySpan<byte> username));
        Assert.Equal("sfu1:brw", Encoding.UTF8.GetString(username));
        Assert.True(message.TryGetPriority(out uint priority));
        Assert.Equal(0x6E7F1EFFu, priority);
        Assert.True(message.TryGetIceControlling(out ulong tieBreaker));
        Assert.Equal(0x1122334455667788ul, tieBreaker);
        Assert.Equal(useCandidate, message.HasUseCandidate);
        Assert.True(message.VerifyMessageIntegrity(Password));
        Assert.False(message.VerifyMessageIntegrity(Encoding.UTF8.GetBytes("other")));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void Username_IsPaddedWithZeros()
    {
        byte[] buffer = new byte[512];
        buffer.AsSpan().Fill(0xEE);
        var writer = new StunWriter(buffer, StunClass.Request, StunMethod.Binding, TransactionId);
        writer.AddUsername("abcde"u8);
        Assert.Equal(20 + 4 + 8, writer.Length);
        Assert.Equal(5, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(22)));
        Assert.Equal(new byte[3], buffer.AsSpan(29, 3).ToArray());
        Assert.Equal(12, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)));
    }

    [Theory]
    [InlineData("203.0.113.7", 54321)]
    [InlineData("2001:db8::1", 9)]
    [InlineData("::ffff:10.0.0.1", 65535)]
    public void SuccessResponse_RoundTripsMappedAddress(string address, int port)
    {
        byte[] buffer = new byte[512];
        byte[] addressBytes = IPAddress.Parse(address).GetAddressBytes();
        int length = StunMessages.WriteBindingSuccess(buffer, TransactionId, addressBytes, (ushort)port, Password);

        Assert.True(StunMessage.TryRead(buffer.AsSpan(0, length), out StunMessage message));
        Assert.Equal(StunClass.SuccessResponse, message.Class);
        Assert.Equal(0x0101, message.MessageType);
        Assert.True(message.TryGetXorMappedAddress(out IPEndPoint? endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
        Assert.True(message.VerifyMessageIntegrity(Password));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void SuccessResponse_AddressIsXoredOnTheWire()
    {
        byte[] buffer = new byte[512];
        int length = StunMessages.WriteBindingSuccess(buffer, TransactionId, [192, 0, 2, 1], 32853, Password);
        // RFC 5769 §2.2 shows the same mapping for this address and port: port a147, address e112a643.
        Assert.Equal(Hex.Parse("0001a147e112a643"), buffer.AsSpan(24, 8).ToArray());
        Assert.True(length > 32);
    }

    [Theory]
    [InlineData(400, "Bad Request")]
    [InlineData(401, "Unauthorized")]
    [InlineData(487, "Role Conflict")]
    public void ErrorResponse_RoundTrips(int code, string reason)
    {
        byte[] buffer = new byte[512];
        int length = StunMessages.WriteBindingError(buffer, TransactionId, code, reason, code == 487 ? Password : default);

        Assert.True(StunMessage.TryRead(buffer.AsSpan(0, length), out StunMessage message));
        Assert.Equal(StunClass.ErrorResponse, message.Class);
        Assert.Equal(0x0111, message.MessageType);
        Assert.True(message.TryGetErrorCode(out int parsedCode, out ReadOnlySpan<byte> parsedReason));
        Assert.Equal(code, parsedCode);
        Assert.Equal(reason, Encoding.UTF8.GetString(parsedReason));
        Assert.True(message.VerifyFingerprint());
        Assert.Equal(code == 487, message.HasAttribute(StunAttributeType.MessageIntegrity));
    }

    [Fact]
    public void MessageType_EncodesClassBits()
    {
        Assert.Equal(0x0001, StunMethod.ToMessageType(StunClass.Request, StunMethod.Binding));
        Assert.Equal(0x0011, StunMethod.ToMessageType(StunClass.Indication, StunMethod.Binding));
        Assert.Equal(0x0101, StunMethod.ToMessageType(StunClass.SuccessResponse, StunMethod.Binding));
        Assert.Equal(0x0111, StunMethod.ToMessageType(StunClass.ErrorResponse, StunMethod.Binding));
        for (ushort method = 0; method < 0x1000; method += 7)
        {
            foreach (StunClass c in Enum.GetValues<StunClass>())
            {
                ushort type = StunMethod.ToMessageType(c, method);
                Assert.Equal(c, StunMethod.ClassOf(type));
                Assert.Equal(method, StunMethod.MethodOf(type));
            }
        }
    }

    [Fact]
    public void AttributesAfterIntegrity_AreIgnoredExceptFingerprint()
    {
        byte[] buffer = new byte[512];
        var writer = new StunWriter(buffer, StunClass.Request, StunMethod.Binding, TransactionId);
        writer.AddMessageIntegrity(Password);
        writer.AddUsername("late"u8);
        writer.AddFingerprint();
        Assert.True(StunMessage.TryRead(buffer.AsSpan(0, writer.Length), out StunMessage message));
        Assert.False(message.TryGetUsername(out _));
        Assert.True(message.HasAttribute(StunAttributeType.Fingerprint));
        int count = 0;
        foreach (StunAttribute attribute in message.Attributes)
        {
            count++;
            Assert.True(attribute.Offset >= StunMessage.HeaderLength);
        }

        Assert.Equal(3, count);
    }

    [Fact]
    public void IsStun_RejectsOtherProtocols()
    {
        Assert.False(StunMessage.IsStun(new byte[] { 0x80, 0x60, 0, 1, 0x21, 0x12, 0xA4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
        Assert.False(StunMessage.IsStun(new byte[] { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x43, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
        Assert.False(StunMessage.IsStun(new byte[] { 0x00, 0x01, 0, 0 }));
        Assert.True(StunMessage.IsStun(StunRfc5769Tests.SampleRequest));
    }

    [Fact]
    public void TryRead_RejectsBadLengths()
    {
        byte[] copy = (byte[])StunRfc5769Tests.SampleRequest.Clone();
        Assert.False(StunMessage.TryRead(copy.AsSpan(0, copy.Length - 4), out _));
        copy[3] = 0x57; // not a multiple of 4
        Assert.False(StunMessage.TryRead(copy, out _));
        copy = (byte[])StunRfc5769Tests.SampleRequest.Clone();
        copy[23] = 0xFF; // SOFTWARE length past the end
        Assert.False(StunMessage.TryRead(copy, out _));
    }

    [Fact]
    public void Writer_ThrowsWhenDestinationTooSmall()
    {
        byte[] buffer = new byte[40];
        Assert.Throws<ArgumentException>(() =>
        {
            var writer = new StunWriter(buffer, StunClass.Request, StunMethod.Binding, TransactionId);
            writer.AddUsername(new byte[32]);
        });
    }
}
