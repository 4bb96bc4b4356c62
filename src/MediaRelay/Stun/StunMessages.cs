namespace Teletherapy.MediaRelay.Stun;

/// <summary>
/// The complete Binding messages ICE exchanges (RFC 8445 §7.2, RFC 8489 §6.3): each ends with
/// MESSAGE-INTEGRITY keyed by the ICE password and FINGERPRINT.
/// </summary>
internal static class StunMessages
{
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int RoleConflict = 487;

    /// <summary>
    /// A connectivity check from the controlling agent (RFC 8445 §7.1.1): USERNAME is
    /// "remoteUfrag:localUfrag", the key is the remote agent's password.
    /// </summary>
    public static int WriteBindingRequest(
        Span<byte> destination,
        ReadOnlySpan<byte> transactionId,
        ReadOnlySpan<byte> username,
        uint priority,
        ulong tieBreaker,
        bool useCandidate,
        ReadOnlySpan<byte> password)
    {
        var writer = new StunWriter(destination, StunClass.Request, StunMethod.Binding, transactionId);
        writer.AddUsername(username);
        writer.AddPriority(priority);
        writer.AddIceControlling(tieBreaker);
        if (useCandidate)
        {
            writer.AddUseCandidate();
        }

        writer.AddMessageIntegrity(password);
        writer.AddFingerprint();
        return writer.Length;
    }

    /// <summary>Success response carrying the source address the request came from (RFC 8489 §14.2).</summary>
    public static int WriteBindingSuccess(
        Span<byte> destination,
        ReadOnlySpan<byte> transactionId,
        ReadOnlySpan<byte> mappedAddress,
        ushort mappedPort,
        ReadOnlySpan<byte> password)
    {
        var writer = new StunWriter(destination, StunClass.SuccessResponse, StunMethod.Binding, transactionId);
        writer.AddXorMappedAddress(mappedAddress, mappedPort);
        writer.AddMessageIntegrity(password);
        writer.AddFingerprint();
        return writer.Length;
    }

    /// <summary>
    /// Error response (RFC 8489 §6.3.4). A 400 or 401 cannot be authenticated with a key the peer proved it
    /// does not hold, so the password is optional.
    /// </summary>
    public static int WriteBindingError(
        Span<byte> destination,
        ReadOnlySpan<byte> transactionId,
        int code,
        string reason,
        ReadOnlySpan<byte> password)
    {
        var writer = new StunWriter(destination, StunClass.ErrorResponse, StunMethod.Binding, transactionId);
        writer.AddErrorCode(code, reason);
        if (!password.IsEmpty)
        {
            writer.AddMessageIntegrity(password);
        }

        writer.AddFingerprint();
        return writer.Length;
    }
}
