using System.Net;
using System.Text;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Ice;

public sealed class IceControllingAgentTests
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("192.0.2.9"), 61000);

    private readonly ManualTimeProvider _time = new();
    private readonly IceCredentials _server = IceCredentials.Create();
    private readonly IceCredentials _client = IceCredentials.Create();
    private readonly IceLiteAgent _lite;
    private readonly IceControllingAgent _agent;
    private readonly byte[] _check = new byte[512];
    private readonly byte[] _response = new byte[512];

    public IceControllingAgentTests()
    {
        _lite = new IceLiteAgent(_server) { RemoteUfrag = _client.Ufrag };
        _agent = new IceControllingAgent(_client, _server.Ufrag, _server.Password, _time);
    }

    [Fact]
    public void TheFirstCheckCarriesEverythingAnIceLiteServerRequires()
    {
        int length = _agent.WriteCheckIfDue(_check, out _);

        Assert.True(StunMessage.TryRead(_check.AsSpan(0, length), out StunMessage check));
        Assert.Equal(StunClass.Request, check.Class);
        Assert.Equal(StunMethod.Binding, check.Method);
        Assert.True(check.TryGetUsername(out ReadOnlySpan<byte> username));
        Assert.Equal($"{_server.Ufrag}:{_client.Ufrag}", Encoding.ASCII.GetString(username));
        Assert.True(check.TryGetPriority(out uint priority));
        Assert.Equal((110u << 24) + (65535u << 8) + 255u, priority);
        Assert.True(check.TryGetIceControlling(out ulong tieBreaker));
        Assert.Equal(_agent.TieBreaker, tieBreaker);
        Assert.False(check.HasAttribute(StunAttributeType.IceControlled));
        Assert.True(check.HasUseCandidate);
        Assert.True(check.VerifyMessageIntegrity(_server.PasswordBytes));
        Assert.True(check.VerifyFingerprint());
    }

    [Fact]
    public void AnUnansweredCheckIsRetransmittedWithTheSameTransactionIdAndBackingOff()
    {
        int length = _agent.WriteCheckIfDue(_check, out TimeSpan next);
        byte[] transactionId = _check.AsSpan(8, 12).ToArray();
        Assert.Equal(TimeSpan.FromMilliseconds(50), next);
        Assert.Equal(0, _agent.WriteCheckIfDue(_check, out TimeSpan remaining));
        Assert.Equal(TimeSpan.FromMilliseconds(50), remaining);

        var intervals = new List<double>();
        for (int i = 0; i < 6; i++)
        {
            _time.Advance(next);
            length = _agent.WriteCheckIfDue(_check, out next);
            Assert.True(length > 0);
            Assert.True(_check.AsSpan(8, 12).SequenceEqual(transactionId));
            intervals.Add(next.TotalMilliseconds);
        }

        Assert.Equal([100, 200, 400, 500, 500, 500], intervals);
        Assert.Equal(7, _agent.ChecksSent);
        Assert.Equal(IceControllingState.Checking, _agent.State);
    }

    [Fact]
    public void TheLiteServersSuccessResponseConnectsAndReportsTheMappedAddress()
    {
        int length = _agent.WriteCheckIfDue(_check, out _);
        Assert.Equal(IceCheckOutcome.Nominated, _lite.HandleStun(_check.AsSpan(0, length), RemoteKey.FromEndPoint(Client), 1, _response, out int responseLength));

        Assert.Equal(IceResponseOutcome.Connected, _agent.HandleResponse(_response.AsSpan(0, responseLength)));
        Assert.Equal(IceControllingState.Connected, _agent.State);
        Assert.Equal(Client, _agent.MappedAddress);
        Assert.Equal(_time.GetTimestamp(), _agent.LastSuccessTimestamp);

        // The same response again no longer matches an outstanding transaction.
        Assert.Equal(IceResponseOutcome.Ignored, _agent.HandleResponse(_response.AsSpan(0, responseLength)));
    }

    [Fact]
    public void ResponsesThatDoNotAuthenticateOrMatchAreIgnored()
    {
        _agent.WriteCheckIfDue(_check, out _);
        byte[] transactionId = _check.AsSpan(8, 12).ToArray();
        byte[] otherId = transactionId.Select(b => (byte)~b).ToArray();

        Assert.Equal(IceResponseOutcome.Ignored, _agent.HandleResponse(Success(otherId, _server.PasswordBytes)));
        Assert.Equal(IceResponseOutcome.Ignored, _agent.HandleResponse(Success(transactionId, Encoding.ASCII.GetBytes(IceCredentials.Create().Password))));
        byte[] badFingerprint = Success(transactionId, _server.PasswordBytes);
        badFingerprint[^1] ^= 1;
        Assert.Equal(IceResponseOutcome.Ignored, _agent.HandleResponse(badFingerprint));
        Assert.Equal(IceControllingState.Checking, _agent.State);

        Assert.Equal(IceResponseOutcome.Connected, _agent.HandleResponse(Success(transactionId, _server.PasswordBytes)));
    }

    [Theory]
    [InlineData(401)]
    [InlineData(487)]
    public void AnErrorResponseFailsTheAgentWithItsCode(int code)
    {
        _agent.WriteCheckIfDue(_check, out _);
        byte[] buffer = new byte[256];
        int length = StunMessages.WriteBindingError(buffer, _check.AsSpan(8, 12), code, "No", code == 487 ? _server.PasswordBytes : default);

        Assert.Equal(IceResponseOutcome.Failed, _agent.HandleResponse(buffer.AsSpan(0, length)));
        Assert.Equal(IceControllingState.Failed, _agent.State);
        Assert.Equal(code, _agent.ErrorCode);
        Assert.Equal(0, _agent.WriteCheckIfDue(_check, out TimeSpan next));
        Assert.Equal(Timeout.InfiniteTimeSpan, next);
    }

    [Fact]
    public void OnceConnectedConsentChecksAreNewTransactionsWithoutUseCandidateAndLapseAfterThirtySeconds()
    {
        int length = _agent.WriteCheckIfDue(_check, out _);
        _lite.HandleStun(_check.AsSpan(0, length), RemoteKey.FromEndPoint(Client), 1, _response, out int responseLength);
        _agent.HandleResponse(_response.AsSpan(0, responseLength));
        byte[] firstId = _check.AsSpan(8, 12).ToArray();

        Assert.Equal(0, _agent.WriteCheckIfDue(_check, out TimeSpan next));
        Assert.Equal(IceControllingAgent.ConsentInterval, next);
        _time.Advance(next);
        length = _agent.WriteCheckIfDue(_check, out next);
        Assert.True(length > 0);
        Assert.InRange(next.TotalMilliseconds, 2000, 3000); // RFC 7675 §5.1: randomized ±20%
        Assert.False(_check.AsSpan(8, 12).SequenceEqual(firstId));
        Assert.True(StunMessage.TryRead(_check.AsSpan(0, length), out StunMessage consent));
        Assert.False(consent.HasUseCandidate);

        Assert.Equal(IceCheckOutcome.Accepted, _lite.HandleStun(_check.AsSpan(0, length), RemoteKey.FromEndPoint(Client), 2, _response, out responseLength));
        Assert.Equal(IceResponseOutcome.ConsentRefreshed, _agent.HandleResponse(_response.AsSpan(0, responseLength)));

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(_agent.IsConsentExpired());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(_agent.IsConsentExpired());
    }

    [Fact]
    public void AFullIcePeersCheckOfOurCandidateIsAnsweredWithOurPasswordAndItsAddress()
    {
        // The server checks us (RFC 8445 §7.2.2): USERNAME "ourUfrag:serverUfrag", keyed with our password. Its
        // tie-breaker is above ours, so there is no role conflict to report (§7.3.1.1).
        var server = new IceControllingAgent(_server, _client.Ufrag, _client.Password, _time, tieBreaker: 2);
        var agent = new IceControllingAgent(_client, _server.Ufrag, _server.Password, _time, tieBreaker: 1);
        int length = server.WriteCheckIfDue(_check, out _);
        var from = new IPEndPoint(IPAddress.Parse("127.0.0.2"), 20001);

        int responseLength = agent.WriteResponseToRequest(_check.AsSpan(0, length), from, _response);

        Assert.True(StunMessage.TryRead(_response.AsSpan(0, responseLength), out StunMessage response));
        Assert.Equal(StunClass.SuccessResponse, response.Class);
        Assert.True(response.TransactionId.SequenceEqual(_check.AsSpan(8, 12)));
        Assert.True(response.VerifyMessageIntegrity(_client.PasswordBytes));
        Assert.True(response.VerifyFingerprint());
        Assert.True(response.TryGetXorMappedAddress(out IPEndPoint? mapped));
        Assert.Equal(from, mapped);
    }

    [Fact]
    public void APeerThatAlsoControlsWithASmallerTieBreakerIsToldOfTheRoleConflict()
    {
        // RFC 8445 §7.3.1.1: both controlling, ours is larger or equal: 487, and the peer switches to controlled.
        var agent = new IceControllingAgent(_client, _server.Ufrag, _server.Password, _time, tieBreaker: 1000);
        byte[] transactionId = new byte[12];
        int length = StunMessages.WriteBindingRequest(_check, transactionId, Encoding.ASCII.GetBytes($"{_client.Ufrag}:{_server.Ufrag}"), 1, 1000, false, _client.PasswordBytes);
        int responseLength = agent.WriteResponseToRequest(_check.AsSpan(0, length), Client, _response);
        Assert.True(StunMessage.TryRead(_response.AsSpan(0, responseLength), out StunMessage conflict));
        Assert.Equal(StunClass.ErrorResponse, conflict.Class);
        Assert.True(conflict.TryGetErrorCode(out int code, out _));
        Assert.Equal(StunMessages.RoleConflict, code);

        length = StunMessages.WriteBindingRequest(_check, transactionId, Encoding.ASCII.GetBytes($"{_client.Ufrag}:{_server.Ufrag}"), 1, 1001, false, _client.PasswordBytes);
        responseLength = agent.WriteResponseToRequest(_check.AsSpan(0, length), Client, _response);
        Assert.True(StunMessage.TryRead(_response.AsSpan(0, responseLength), out StunMessage success));
        Assert.Equal(StunClass.SuccessResponse, success.Class);
        Assert.Equal(1000ul, agent.TieBreaker);
    }

    [Fact]
    public void ChecksWithAnotherUsernameOrKeyAndResponsesAreNotAnswered()
    {
        byte[] transactionId = new byte[12];
        int wrongKey = StunMessages.WriteBindingRequest(_check, transactionId, Encoding.ASCII.GetBytes($"{_client.Ufrag}:{_server.Ufrag}"), 1, 5, false, _server.PasswordBytes);
        Assert.Equal(0, _agent.WriteResponseToRequest(_check.AsSpan(0, wrongKey), Client, _response));

        int wrongUser = StunMessages.WriteBindingRequest(_check, transactionId, Encoding.ASCII.GetBytes($"{_server.Ufrag}:{_client.Ufrag}"), 1, 5, false, _client.PasswordBytes);
        Assert.Equal(0, _agent.WriteResponseToRequest(_check.AsSpan(0, wrongUser), Client, _response));

        byte[] success = Success(transactionId, _client.PasswordBytes);
        Assert.Equal(0, _agent.WriteResponseToRequest(success, Client, _response));
    }

    private static byte[] Success(byte[] transactionId, byte[] password)
    {
        byte[] buffer = new byte[256];
        int length = StunMessages.WriteBindingSuccess(buffer, transactionId, [192, 0, 2, 9], 61000, password);
        return buffer[..length];
    }
}
