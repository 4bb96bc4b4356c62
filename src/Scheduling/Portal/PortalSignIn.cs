using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Email;
using Teletherapy.Scheduling.JoinLinks;
using Teletherapy.Scheduling.Outbox;

namespace Teletherapy.Scheduling.Portal;

/// <summary>
/// Use case: portal sign-in by emailed link. A contact asks with an email address; when contacts with that address
/// exist, a one-time link (random token, only its hash stored, short lifetime) is emailed through the outbox. The
/// answer never tells whether the address is known.
/// </summary>
public sealed partial class PortalSignIn
{
    private readonly Database _database;
    private readonly EmailComposer _composer;
    private readonly OutboxSignal _signal;
    private readonly TimeProvider _time;
    private readonly IOptions<NotificationOptions> _options;
    private readonly ILogger<PortalSignIn> _logger;

    internal PortalSignIn(Database database, EmailComposer composer, OutboxSignal signal, TimeProvider time, IOptions<NotificationOptions> options, ILogger<PortalSignIn> logger)
    {
        _database = database;
        _composer = composer;
        _signal = signal;
        _time = time;
        _options = options;
        _logger = logger;
    }

    /// <summary>Emails a sign-in link when the address belongs to a contact; does nothing otherwise.</summary>
    public async Task RequestLinkAsync(string? email, CancellationToken cancellationToken = default) =>
        await RequestLinkWithTokenAsync(email, cancellationToken).ConfigureAwait(false);

    internal async Task<string?> RequestLinkWithTokenAsync(string? email, CancellationToken cancellationToken)
    {
        var normalized = Validation.NormalizeEmail(email);
        if (normalized is null || !Validation.LooksLikeEmail(normalized))
        {
            return null;
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var clinicName = await connection.QueryFirstOrDefaultAsync<string>(
                """
                SELECT cl.name FROM contacts c JOIN patients p ON p.id = c.patient_id JOIN clinics cl ON cl.id = p.clinic_id
                WHERE c.email = @normalized AND c.removed_at IS NULL ORDER BY c.created_at LIMIT 1
                """,
                new { normalized }, transaction).ConfigureAwait(false);
            if (clinicName is null)
            {
                return null;
            }

            var now = _time.GetUtcNow();
            var token = JoinToken.New();
            await connection.ExecuteAsync(
                "INSERT INTO portal_login_tokens (token_hash, email, expires_at, created_at) VALUES (@hash, @normalized, @expires, @now)",
                new { hash = JoinToken.Hash(token), normalized, expires = now + _options.Value.PortalLoginLinkLifetime, now }, transaction).ConfigureAwait(false);
            var messageId = Guid.NewGuid();
            var message = _composer.PortalLogin(messageId, normalized, clinicName, token);
            await OutboxWriter.EnqueueAsync(
                connection, transaction, new OutboxEntry(messageId, OutboxChannels.Email, OutboxKinds.PortalLogin, null, normalized, OutboxWriter.Serialize(message), now), now).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _signal.Notify();
            LogLinkQueued(messageId);
            return token;
        }
    }

    /// <summary>Uses a sign-in link once: returns the contact email it signs in, or null when unknown, used or expired.</summary>
    public async Task<string?> ConsumeLinkAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (!JoinToken.LooksValid(token))
        {
            return null;
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var now = _time.GetUtcNow();
            var email = await connection.QuerySingleOrDefaultAsync<string>(
                "UPDATE portal_login_tokens SET used_at = @now WHERE token_hash = @hash AND used_at IS NULL AND expires_at > @now RETURNING email",
                new { now, hash = JoinToken.Hash(token!) }, transaction).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return email;
        }
    }

    [LoggerMessage(EventId = 2400, Level = LogLevel.Information, Message = "Portal sign-in link queued as outbox message {MessageId}")]
    private partial void LogLinkQueued(Guid messageId);
}
