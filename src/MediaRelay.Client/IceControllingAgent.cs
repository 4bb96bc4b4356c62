using System.Net;
using System.Security.Cryptography;
using System.Text;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Stun;

namespace Teletherapy.MediaRelay.Client;

/// <summary>What an <see cref="IceControllingAgent"/> made of an incoming STUN message.</summary>
internal enum IceResponseOutcome
{
    /// <summary>Not a response to our outstanding check, or it did not authenticate: dropped.</summary>
    Ignored,

    /// <summary>The first authenticated success response: the pair is valid and nominated.</summary>
    Connected,

    /// <summary>An authenticated success response to a consent check (RFC 7675 §5.1).</summary>
    ConsentRefreshed,

    /// <summary>An error response (400, 401, 487…) to our check: see <see cref="IceControllingAgent.ErrorCode"/>.</summary>
    Failed,
}

/// <summary>Where the controlling agent stands with its one candidate pair.</summary>
internal enum IceControllingState
{
    Checking,
    Connected,
    Failed,
}

/// <summary>
/// The controlling side of ICE toward one remote candidate, as a browser runs it against our ICE-lite
/// server (RFC 8445 §7.2): connectivity checks with aggressive nomination, then consent freshness checks
/// (RFC 7675). Pure protocol logic: the owner asks for the check that is due and hands it responses.
/// Not thread-safe: the owner serializes calls.
/// </summary>
internal sealed class IceControllingAgent
{
    /// <summary>First retransmission interval of a check; doubles up to <see cref="MaxRetransmitInterval"/> (RFC 8489 §6.2.1).</summary>
    public static readonly TimeSpan InitialRetransmitInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Cap of the retransmission back-off; short, because an unanswered check only delays media.</summary>
    public static readonly TimeSpan MaxRetransmitInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Mean interval of consent checks once connected. RFC 7675 §5.1 says 5 s randomized by ±20%; we check
    /// twice as often, so one lost check never comes near a server's 30 s consent timeout.
    /// </summary>
    public static readonly TimeSpan ConsentInterval = TimeSpan.FromMilliseconds(2500);

    /// <summary>Consent is lost when no check has been answered for this long (RFC 7675 §5.1).</summary>
    public static readonly TimeSpan ConsentTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly byte[] _username;
    private readonly byte[] _remotePassword;
    private readonly byte[] _transactionId = new byte[StunMessage.TransactionIdLength];
    private readonly byte[] _expectedRequestUsername;
    private long _nextDue;
    private TimeSpan _retransmitInterval = InitialRetransmitInterval;
    private bool _pending;

    /// <param name="tieBreaker">
    /// ICE-CONTROLLING tie-breaker; random when null (RFC 8445 §6.1.1). A full ICE peer that also believes it controls
    /// (it made the offer) yields to the larger value (§7.3.1.1), so a client that must stay controlling passes
    /// <see cref="ulong.MaxValue"/>.
    /// </param>
    public IceControllingAgent(IceCredentials local, string remoteUfrag, string remotePassword, TimeProvider time, ulong? tieBreaker = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentException.ThrowIfNullOrEmpty(remoteUfrag);
        ArgumentException.ThrowIfNullOrEmpty(remotePassword);
        Local = local;
        _time = time;

        // RFC 8445 §7.2.2: USERNAME of a check is "remoteUfrag:localUfrag", keyed with the remote password.
        _username = Encoding.ASCII.GetBytes($"{remoteUfrag}:{local.Ufrag}");
        _remotePassword = Encoding.ASCII.GetBytes(remotePassword);

        // RFC 8445 §6.1.1: the tie-breaker is a 64-bit random number, fixed for the agent's lifetime.
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        TieBreaker = tieBreaker ?? BitConverter.ToUInt64(random);
        _expectedRequestUsername = Encoding.ASCII.GetBytes($"{local.Ufrag}:{remoteUfrag}");
    }

    public IceCredentials Local { get; }

    public IceControllingState State { get; private set; }

    /// <summary>ICE-CONTROLLING value (RFC 8445 §7.1.3).</summary>
    public ulong TieBreaker { get; }

    /// <summary>
    /// PRIORITY of our checks: what a peer-reflexive candidate learned from them would have (RFC 8445 §7.1.1).
    /// Local preference 65535: we have one host candidate.
    /// </summary>
    public uint Priority { get; } = IceCandidatePriority.Compute(IceCandidatePriority.PeerReflexiveTypePreference, 65535);

    /// <summary>STUN error code of the response that failed the check (0 when none).</summary>
    public int ErrorCode { get; private set; }

    /// <summary>Our address as the server saw it (XOR-MAPPED-ADDRESS of the first success), once connected.</summary>
    public IPEndPoint? MappedAddress { get; private set; }

    /// <summary>Timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the last authenticated success (0 = none).</summary>
    public long LastSuccessTimestamp { get; private set; }

    /// <summary>Checks sent, retransmissions included.</summary>
    public int ChecksSent { get; private set; }

    /// <summary>
    /// Writes the check that is due now, if any, into <paramref name="destination"/> (≥ 256 bytes) and returns
    /// its length, 0 when nothing is due. <paramref name="nextDue"/> says when to ask again.
    /// </summary>
    public int WriteCheckIfDue(Span<byte> destination, out TimeSpan nextDue)
    {
        long now = _time.GetTimestamp();
        if (State == IceControllingState.Failed)
        {
            nextDue = Timeout.InfiniteTimeSpan;
            return 0;
        }

        if (_nextDue != 0 && now < _nextDue)
        {
            nextDue = _time.GetElapsedTime(now, _nextDue);
            return 0;
        }

        bool useCandidate;
        if (State == IceControllingState.Checking)
        {
            // RFC 8489 §6.2.1: a retransmission keeps the transaction id, with the interval doubling each time.
            if (!_pending)
            {
                RandomNumberGenerator.Fill(_transactionId);
                _pending = true;
            }
            else
            {
                _retransmitInterval = TimeSpan.FromTicks(Math.Min(_retransmitInterval.Ticks * 2, MaxRetransmitInterval.Ticks));
            }

            // RFC 8445 §8.1.1: aggressive nomination, USE-CANDIDATE on every check; we have a single pair.
            useCandidate = true;
            nextDue = _retransmitInterval;
        }
        else
        {
            // RFC 7675 §5.1: each consent check is a new transaction, sent at a randomized interval.
            RandomNumberGenerator.Fill(_transactionId);
            _pending = true;
            useCandidate = false;
            nextDue = ConsentInterval * (0.8 + (0.4 * Random.Shared.NextDouble()));
        }

        _nextDue = now + (long)(nextDue.TotalSeconds * _time.TimestampFrequency);
        ChecksSent++;
        return StunMessages.WriteBindingRequest(destination, _transactionId, _username, Priority, TieBreaker, useCandidate, _remotePassword);
    }

    /// <summary>Handles a STUN message from the remote candidate: a response to our outstanding check or noise.</summary>
    public IceResponseOutcome HandleResponse(ReadOnlySpan<byte> packet)
    {
        if (!_pending
            || !StunMessage.TryRead(packet, out var message)
            || message.Method != StunMethod.Binding
            || !message.TransactionId.SequenceEqual(_transactionId)
            || !message.VerifyFingerprint())
        {
            // RFC 8489 §6.3.3 and §7.3: a response must match an outstanding transaction; one whose FINGERPRINT
            // fails is not STUN at all.
            return IceResponseOutcome.Ignored;
        }

        if (message.Class == StunClass.ErrorResponse)
        {
            // A 400 or 401 cannot carry MESSAGE-INTEGRITY (the server did not trust our key), so an error is
            // believed on a matching transaction id alone: 96 random bits an off-path attacker cannot guess.
            // We are always controlling toward an ICE-lite server; a 487 Role Conflict (RFC 8445 §7.2.5.1) means
            // the peer is not the lite server we expect, so it is reported rather than resolved by switching roles.
            if (message.HasAttribute(StunAttributeType.MessageIntegrity) && !message.VerifyMessageIntegrity(_remotePassword))
            {
                return IceResponseOutcome.Ignored;
            }

            ErrorCode = message.TryGetErrorCode(out int code, out _) ? code : 400;
            State = IceControllingState.Failed;
            _pending = false;
            return IceResponseOutcome.Failed;
        }

        // RFC 8445 §7.2.5.2: a success response counts only when MESSAGE-INTEGRITY verifies with the remote password.
        if (message.Class != StunClass.SuccessResponse || !message.VerifyMessageIntegrity(_remotePassword))
        {
            return IceResponseOutcome.Ignored;
        }

        _pending = false;
        LastSuccessTimestamp = _time.GetTimestamp();
        if (State == IceControllingState.Connected)
        {
            return IceResponseOutcome.ConsentRefreshed;
        }

        message.TryGetXorMappedAddress(out IPEndPoint? mapped);
        MappedAddress = mapped;
        State = IceControllingState.Connected;

        // The first consent check is due one interval after the pair became valid.
        _nextDue = LastSuccessTimestamp + (long)(ConsentInterval.TotalSeconds * _time.TimestampFrequency);
        return IceResponseOutcome.Connected;
    }

    /// <summary>
    /// Answers a connectivity check from a full ICE peer (RFC 8445 §7.3), which checks our candidate as well: USERNAME
    /// must be "ourUfrag:theirUfrag" and MESSAGE-INTEGRITY keyed with our password. A request from a peer that also
    /// claims ICE-CONTROLLING with a tie-breaker not above ours gets 487 Role Conflict so it switches to controlled
    /// (§7.3.1.1); otherwise a success response with XOR-MAPPED-ADDRESS <paramref name="from"/>. Returns the
    /// response length, 0 when the packet is not a Binding request for us (ignored, RFC 8445 §7.3 / RFC 8489 §6.3).
    /// </summary>
    public int WriteResponseToRequest(ReadOnlySpan<byte> packet, IPEndPoint from, Span<byte> response)
    {
        ArgumentNullException.ThrowIfNull(from);
        if (!StunMessage.TryRead(packet, out var message)
            || message.Class != StunClass.Request
            || message.Method != StunMethod.Binding
            || !message.VerifyFingerprint()
            || !message.TryGetUsername(out var username)
            || !username.SequenceEqual(_expectedRequestUsername)
            || !message.VerifyMessageIntegrity(Local.PasswordBytes))
        {
            return 0;
        }

        if (message.TryGetIceControlling(out ulong theirs) && TieBreaker >= theirs)
        {
            return StunMessages.WriteBindingError(response, message.TransactionId, StunMessages.RoleConflict, "Role Conflict", Local.PasswordBytes);
        }

        Span<byte> address = stackalloc byte[16];
        var addressLength = from.Address.TryWriteBytes(address, out var written) ? written : 0;
        return StunMessages.WriteBindingSuccess(response, message.TransactionId, address[..addressLength], (ushort)from.Port, Local.PasswordBytes);
    }

    /// <summary>RFC 7675 §5.1: consent lapses when no check was answered for <see cref="ConsentTimeout"/>.</summary>
    public bool IsConsentExpired() =>
        State == IceControllingState.Connected && _time.GetElapsedTime(LastSuccessTimestamp) >= ConsentTimeout;
}
