using System.Net;
using System.Text;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Transport;
using static Teletherapy.MediaRelay.Tests.Ice.IceTestMessages;

namespace Teletherapy.MediaRelay.Tests.Ice;

public sealed class IceLiteAgentTests
{
    private const string ClientUfrag = "clnt";

    private static readonly IPEndPoint Browser = new(IPAddress.Parse("192.0.2.7"), 50123);

    private readonly IceCredentials _server = IceCredentials.Create();
    private readonly IceLiteAgent _agent;
    private readonly byte[] _response = new byte[512];

    public IceLiteAgentTests()
    {
        _agent = new IceLiteAgent(_server) { RemoteUfrag = ClientUfrag };
    }

    private string Username => $"{_server.Ufrag}:{ClientUfrag}";

    [Theory]
    [InlineData("192.0.2.7", 50123)]
    [InlineData("2001:db8::42", 443)]
    public void AValidCheckGetsASuccessResponseNamingTheSenderSignedWithTheServerPassword(string address, int port)
    {
        var from = new IPEndPoint(IPAddress.Parse(address), port);
        byte[] transactionId = Enumerable.Range(1, 12).Select(i => (byte)i).ToArray();
        byte[] check = Check(Username, _server.Password, transactionId: transactionId);

        Assert.Equal(IceCheckOutcome.Accepted, Handle(check, from, 1234, out int length));

        Assert.True(StunMessage.TryRead(_response.AsSpan(0, length), out StunMessage response));
        Assert.Equal(StunClass.SuccessResponse, response.Class);
        Assert.Equal(StunMethod.Binding, response.Method);
        Assert.True(response.TransactionId.SequenceEqual(transactionId));
        Assert.Equal(from, MappedAddress(_response.AsSpan(0, length)));
        Assert.True(response.VerifyMessageIntegrity(_server.PasswordBytes));
        Assert.False(response.VerifyMessageIntegrity(Encoding.ASCII.GetBytes(IceCredentials.Create().Password)));
        Assert.True(response.VerifyFingerprint());
        Assert.Equal(1234, _agent.LastValidCheckTimestamp);
    }

    [Fact]
    public void UseCandidateNominatesThePair()
    {
        Assert.Equal(IceCheckOutcome.Nominated, Handle(Check(Username, _server.Password, useCandidate: true), Browser, 1, out int length));
        Assert.True(length > 0);
    }

    [Theory]
    [InlineData("no-username")]
    [InlineData("no-priority")]
    [InlineData("no-integrity")]
    public void ACheckMissingARequiredAttributeGets400(string missing)
    {
        byte[] check = Check(
            missing == "no-username" ? null : Username,
            missing == "no-integrity" ? null : _server.Password,
            priority: missing != "no-priority");

        Assert.Equal(IceCheckOutcome.Rejected, Handle(check, Browser, 1, out int length));
        AssertError(length, 400);
        Assert.Equal(0, _agent.LastValidCheckTimestamp);
    }

    [Fact]
    public void AWrongPasswordGets401()
    {
        Assert.Equal(IceCheckOutcome.Rejected, Handle(Check(Username, IceCredentials.Create().Password), Browser, 1, out int length));
        AssertError(length, 401);
    }

    [Theory]
    [InlineData("other-local")]
    [InlineData("other-remote")]
    public void AWrongUfragGets401(string which)
    {
        string username = which == "other-local" ? $"zzzzzzzz:{ClientUfrag}" : $"{_server.Ufrag}:intruder";
        Assert.Equal(IceCheckOutcome.Rejected, Handle(Check(username, _server.Password), Browser, 1, out int length));
        AssertError(length, 401);
    }

    [Fact]
    public void APeerClaimingToBeControlledGets487SignedWithOurPassword()
    {
        Assert.Equal(IceCheckOutcome.Rejected, Handle(Check(Username, _server.Password, controlled: true), Browser, 1, out int length));
        StunMessage response = AssertError(length, 487);
        Assert.True(response.VerifyMessageIntegrity(_server.PasswordBytes));
        Assert.Equal(0, _agent.LastValidCheckTimestamp);
    }

    [Fact]
    public void ACheckWithABadFingerprintIsIgnoredWithoutAnswer()
    {
        byte[] check = Check(Username, _server.Password);
        check[^1] ^= 0x01;
        Assert.Equal(IceCheckOutcome.Ignored, Handle(check, Browser, 1, out int length));
        Assert.Equal(0, length);
    }

    [Fact]
    public void ResponsesAndNonStunAreIgnored()
    {
        byte[] buffer = new byte[256];
        int responseLength = StunMessages.WriteBindingSuccess(buffer, new byte[12], [192, 0, 2, 1], 9, _server.PasswordBytes);
        Assert.Equal(IceCheckOutcome.Ignored, Handle(buffer[..responseLength], Browser, 1, out int length));
        Assert.Equal(0, length);
        Assert.Equal(IceCheckOutcome.Ignored, Handle([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], Browser, 1, out length));
        Assert.Equal(0, length);
    }

    [Fact]
    public void AfterAnIceRestartTheOldCredentialsWorkUntilTheNewOnesAuthenticate()
    {
        IceCredentials old = _server;
        IceCredentials next = IceCredentials.Create();
        _agent.Restart(next, "clnt2");
        Assert.Same(next, _agent.Local);

        // RFC 8445 §9: the browser may still be checking with the old credentials.
        Assert.Equal(IceCheckOutcome.Accepted, Handle(Check($"{old.Ufrag}:{ClientUfrag}", old.Password), Browser, 1, out _));
        Assert.Equal(IceCheckOutcome.Accepted, Handle(Check($"{old.Ufrag}:{ClientUfrag}", old.Password), Browser, 2, out _));

        // Once the new ones authenticate, the old ones are gone.
        Assert.Equal(IceCheckOutcome.Rejected, Handle(Check($"{next.Ufrag}:{ClientUfrag}", next.Password), Browser, 3, out int length));
        AssertError(length, 401); // the new remote ufrag is clnt2, not clnt
        Assert.Equal(IceCheckOutcome.Accepted, Handle(Check($"{next.Ufrag}:clnt2", next.Password), Browser, 4, out length));
        Assert.True(StunMessage.TryRead(_response.AsSpan(0, length), out StunMessage response));
        Assert.True(response.VerifyMessageIntegrity(next.PasswordBytes));

        Assert.Equal(IceCheckOutcome.Rejected, Handle(Check($"{old.Ufrag}:{ClientUfrag}", old.Password), Browser, 5, out length));
        AssertError(length, 401);
        Assert.Equal(4, _agent.LastValidCheckTimestamp);
    }

    [Fact]
    public void AValidCheckReportsItsPriorityAndTheFirstCheckWithRestartedCredentialsIsCountedOnce()
    {
        Assert.Equal(IceCheckOutcome.Accepted, _agent.HandleStun(
            Check(Username, _server.Password, priorityValue: 12345), RemoteKey.FromEndPoint(Browser), 1, _response, out _, out uint priority));
        Assert.Equal(12345u, priority);
        Assert.Equal(0, _agent.RestartsTakenUp);

        IceCredentials next = IceCredentials.Create();
        _agent.Restart(next, "clnt2");
        Assert.Equal(IceCheckOutcome.Accepted, Handle(Check(Username, _server.Password), Browser, 2, out _));
        Assert.Equal(0, _agent.RestartsTakenUp);
        Assert.Equal(IceCheckOutcome.Nominated, Handle(Check($"{next.Ufrag}:clnt2", next.Password, useCandidate: true), Browser, 3, out _));
        Assert.Equal(IceCheckOutcome.Accepted, Handle(Check($"{next.Ufrag}:clnt2", next.Password), Browser, 4, out _));
        Assert.Equal(1, _agent.RestartsTakenUp);
    }

    [Fact]
    public void LocalUfragIsThePartBeforeTheColon()
    {
        Assert.True(IceLiteAgent.LocalUfragOf("abcdefgh:xyz"u8).SequenceEqual("abcdefgh"u8));
        Assert.True(IceLiteAgent.LocalUfragOf("abcdefgh"u8).IsEmpty);
        Assert.True(IceLiteAgent.LocalUfragOf(":xyz"u8).IsEmpty);
    }

    private IceCheckOutcome Handle(byte[] check, IPEndPoint from, long now, out int length) =>
        _agent.HandleStun(check, RemoteKey.FromEndPoint(from), now, _response, out length);

    private StunMessage AssertError(int length, int code)
    {
        Assert.True(StunMessage.TryRead(_response.AsSpan(0, length), out StunMessage response));
        Assert.Equal(StunClass.ErrorResponse, response.Class);
        Assert.True(response.TryGetErrorCode(out int actual, out _));
        Assert.Equal(code, actual);
        Assert.True(response.VerifyFingerprint());
        return response;
    }
}
