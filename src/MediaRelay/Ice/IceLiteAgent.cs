using Teletherapy.MediaRelay.Stun;

namespace Teletherapy.MediaRelay.Ice;

/// <summary>
/// The server side of ICE-lite (RFC 8445 §2.5): never sends checks, is always controlled, answers the
/// browser's connectivity checks and follows its nomination. One per peer transport. Not thread-safe:
/// called from the receive path of the transport that owns it.
/// </summary>
internal sealed class IceLiteAgent
{
    private IceCredentials _local;
    private IceCredentials? _previous;

    public IceLiteAgent(IceCredentials local)
    {
        _local = local;
    }

    public IceCredentials Local => _local;

    /// <summary>The remote ufrag from the browser's SDP, checked against the second half of USERNAME when known.</summary>
    public string? RemoteUfrag { get; set; }

    /// <summary>Timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the last authenticated check: consent freshness (RFC 7675).</summary>
    public long LastValidCheckTimestamp { get; private set; }

    /// <summary>
    /// How many times a check first authenticated with the credentials of a <see cref="Restart"/>: from then on the
    /// old credentials are refused and ICE starts over on the new ones (RFC 8445 §9).
    /// </summary>
    public int RestartsTakenUp { get; private set; }

    /// <summary>
    /// ICE restart (RFC 8445 §9): new local credentials; the old ones keep working until a check
    /// authenticates with the new ones, so media does not stop while the browser switches.
    /// </summary>
    public void Restart(IceCredentials next, string? remoteUfrag)
    {
        _previous = _local;
        _local = next;
        RemoteUfrag = remoteUfrag;
    }

    /// <summary>The local ufrag in a request's USERNAME ("localUfrag:remoteUfrag", RFC 8445 §7.2.2), or empty.</summary>
    public static ReadOnlySpan<byte> LocalUfragOf(ReadOnlySpan<byte> username)
    {
        var colon = username.IndexOf((byte)':');
        return colon > 0 ? username[..colon] : ReadOnlySpan<byte>.Empty;
    }

    /// <summary>
    /// Handles one STUN message from <paramref name="from"/>. When the outcome is Accepted, Nominated or
    /// Rejected, <paramref name="response"/>[..<paramref name="responseLength"/>] must be sent back on the
    /// same path (RFC 8489 §6.3: from the address the request was sent to).
    /// </summary>
    public IceCheckOutcome HandleStun(ReadOnlySpan<byte> packet, RemoteKey from, long now, Span<byte> response, out int responseLength) =>
        HandleStun(packet, from, now, response, out responseLength, out _);

    /// <inheritdoc cref="HandleStun(ReadOnlySpan{byte}, RemoteKey, long, Span{byte}, out int)"/>
    /// <param name="priority">
    /// For Accepted and Nominated: the check's PRIORITY, the priority the browser's candidate of this pair would have
    /// as peer-reflexive (RFC 8445 §7.1.1).
    /// </param>
    public IceCheckOutcome HandleStun(
        ReadOnlySpan<byte> packet, RemoteKey from, long now, Span<byte> response, out int responseLength, out uint priority)
    {
        responseLength = 0;
        priority = 0;
        if (!StunMessage.TryRead(packet, out var message)
            || message.Class != StunClass.Request
            || message.Method != StunMethod.Binding)
        {
            return IceCheckOutcome.Ignored;
        }

        // RFC 8489 §7.3: a message whose FINGERPRINT does not verify is not STUN; discard it.
        if (message.HasAttribute(StunAttributeType.Fingerprint) && !message.VerifyFingerprint())
        {
            return IceCheckOutcome.Ignored;
        }

        // RFC 8445 §7.3 with RFC 8489 §9.1.3: a check must carry USERNAME, MESSAGE-INTEGRITY and PRIORITY.
        if (!message.TryGetUsername(out var username)
            || !message.HasAttribute(StunAttributeType.MessageIntegrity)
            || !message.TryGetPriority(out var checkPriority)
            || !message.HasAttribute(StunAttributeType.Fingerprint))
        {
            responseLength = StunMessages.WriteBindingError(response, message.TransactionId, StunMessages.BadRequest, "Bad Request", default);
            return IceCheckOutcome.Rejected;
        }

        var credentials = Authenticate(message, username);
        if (credentials is null)
        {
            responseLength = StunMessages.WriteBindingError(response, message.TransactionId, StunMessages.Unauthorized, "Unauthorized", default);
            return IceCheckOutcome.Rejected;
        }

        // RFC 8445 §7.3.1.1: a lite agent is always controlled; a peer that also claims to be controlled
        // has a role conflict it must resolve by switching to controlling.
        if (message.HasAttribute(StunAttributeType.IceControlled))
        {
            responseLength = StunMessages.WriteBindingError(response, message.TransactionId, StunMessages.RoleConflict, "Role Conflict", credentials.PasswordBytes);
            return IceCheckOutcome.Rejected;
        }

        if (ReferenceEquals(credentials, _local) && _previous is not null)
        {
            _previous = null;
            RestartsTakenUp++;
        }

        Span<byte> address = stackalloc byte[16];
        var addressLength = from.WriteAddress(address);
        responseLength = StunMessages.WriteBindingSuccess(
            response, message.TransactionId, address[..addressLength], (ushort)from.Port, credentials.PasswordBytes);
        LastValidCheckTimestamp = now;
        priority = checkPriority;
        return message.HasUseCandidate ? IceCheckOutcome.Nominated : IceCheckOutcome.Accepted;
    }

    private IceCredentials? Authenticate(StunMessage message, ReadOnlySpan<byte> username)
    {
        foreach (var candidate in (ReadOnlySpan<IceCredentials?>)[_local, _previous])
        {
            if (candidate is null || !LocalUfragOf(username).SequenceEqual(candidate.UfragBytes))
            {
                continue;
            }

            if (RemoteUfrag is { Length: > 0 } remote && ReferenceEquals(candidate, _local)
                && !RemotePartMatches(username, remote))
            {
                continue;
            }

            if (message.VerifyMessageIntegrity(candidate.PasswordBytes))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool RemotePartMatches(ReadOnlySpan<byte> username, string remoteUfrag)
    {
        var colon = username.IndexOf((byte)':');
        var remote = username[(colon + 1)..];
        if (remote.Length != remoteUfrag.Length)
        {
            return false;
        }

        for (var i = 0; i < remote.Length; i++)
        {
            if (remote[i] != remoteUfrag[i])
            {
                return false;
            }
        }

        return true;
    }
}
