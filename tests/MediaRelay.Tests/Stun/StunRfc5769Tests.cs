using System.Net;
using System.Text;
using Teletherapy.MediaRelay.Stun;

namespace Teletherapy.MediaRelay.Tests.Stun;

/// <summary>The test vectors of RFC 5769 §2.1-2.3.</summary>
public class StunRfc5769Tests
{
    private static readonly byte[] Password = Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBt");

    // RFC 5769 §2.1 Sample Request
    internal static readonly byte[] SampleRequest = Hex.Parse("""
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf
        """);

    // RFC 5769 §2.2 Sample IPv4 Response
    internal static readonly byte[] SampleIpv4Response = Hex.Parse("""
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """);

    // RFC 5769 §2.3 Sample IPv6 Response
    internal static readonly byte[] SampleIpv6Response = Hex.Parse("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """);

    [Fact]
    public void SampleRequest_DecodesAndVerifies()
    {
        Assert.True(StunMessage.IsStun(SampleRequest));
        Assert.True(StunMessage.TryRead(SampleRequest, out StunMessage message));
        Assert.Equal(StunClass.Request, message.Class);
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(Hex.Parse("b7e7a701bc34d686fa87dfae"), message.TransactionId.ToArray());
        Assert.True(message.TryGetUsername(out ReadOnlySpan<byte> username));
        Assert.Equal("evtj:h6vY", Encoding.UTF8.GetString(username));
        Assert.True(message.TryGetPriority(out uint priority));
        Assert.Equal(0x6e0001ffu, priority);
        Assert.True(message.TryGetIceControlled(out ulong tieBreaker));
        Assert.Equal(0x932ff9b151263b36ul, tieBreaker);
        Assert.False(message.TryGetIceControlling(out _));
        Assert.False(message.HasUseCandidate);
        Assert.True(message.TryGetAttribute(StunAttributeType.Software, out ReadOnlySpan<byte> software));
        Assert.Equal("STUN test client", Encoding.UTF8.GetString(software));
        Assert.True(message.VerifyMessageIntegrity(Password));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void SampleIpv4Response_DecodesMappedAddressAndVerifies()
    {
        Assert.True(StunMessage.TryRead(SampleIpv4Response, out StunMessage message));
        Assert.Equal(StunClass.SuccessResponse, message.Class);
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.True(message.TryGetXorMappedAddress(out IPEndPoint? endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), endPoint);
        Assert.True(message.VerifyMessageIntegrity(Password));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void SampleIpv6Response_DecodesMappedAddressAndVerifies()
    {
        Assert.True(StunMessage.TryRead(SampleIpv6Response, out StunMessage message));
        Assert.True(message.TryGetXorMappedAddress(out IPEndPoint? endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853), endPoint);
        Assert.True(message.VerifyMessageIntegrity(Password));
        Assert.True(message.VerifyFingerprint());
    }

    [Fact]
    public void WrongPassword_FailsIntegrity()
    {
        Assert.True(StunMessage.TryRead(SampleRequest, out StunMessage message));
        Assert.False(message.VerifyMessageIntegrity(Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBu")));
    }

    [Theory]
    [InlineData(30)] // inside the USERNAME value
    [InlineData(2)] // the length field is covered too
    [InlineData(10)] // transaction id
    public void FlippedBit_FailsIntegrityOrFingerprint(int index)
    {
        byte[] copy = (byte[])SampleRequest.Clone();
        copy[index] ^= 0x01;
        if (StunMessage.TryRead(copy, out StunMessage message))
        {
            Assert.False(message.VerifyMessageIntegrity(Password) && message.VerifyFingerprint());
        }
    }

    [Fact]
    public void FlippedFingerprint_FailsOnlyFingerprint()
    {
        byte[] copy = (byte[])SampleIpv4Response.Clone();
        copy[^1] ^= 0x80;
        Assert.True(StunMessage.TryRead(copy, out StunMessage message));
        Assert.True(message.VerifyMessageIntegrity(Password));
        Assert.False(message.VerifyFingerprint());
    }
}
