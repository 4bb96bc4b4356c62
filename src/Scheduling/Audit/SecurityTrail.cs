using System.Data.Common;
using Dapper;
using Npgsql;

namespace Teletherapy.Scheduling.Audit;

/// <summary>
/// Appends to the security audit trail (<c>security_events</c>) inside the caller's transaction, so a change and its
/// audit row commit together or not at all. Appends are serialized so the hash chain never forks: on PostgreSQL by a
/// transaction-scoped advisory lock taken before the head row is read (held until commit or rollback, so the next
/// appender reads the head this one wrote); on SQLite every write transaction already holds the database's one write
/// lock from its start (<c>BEGIN IMMEDIATE</c>).
/// </summary>
/// <remarks>
/// Call it as the last statement before the commit: whoever holds the lock then waits for nothing else, so the lock
/// cannot take part in a deadlock. Ids are assigned here (head + 1) instead of by a sequence, because a sequence value
/// used by a transaction that rolls back would leave a gap the verification reports as a missing row.
/// </remarks>
internal static class SecurityTrail
{
    // "SECAUDIT": serializes appends across connections and server processes sharing the database.
    private const long PostgresLockKey = 0x5345_4341_5544_4954;

    public static async Task<SecurityAuditEntry> AppendAsync(DbConnection connection, DbTransaction transaction, SecurityEvent securityEvent, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(securityEvent);
        if (securityEvent.AttemptedEmail is not null)
        {
            // SecurityAudit turns an attempted email into an id or a keyed hash first; it is never stored as given.
            throw new ArgumentException("Resolve the attempted email before appending.", nameof(securityEvent));
        }

        if (connection is NpgsqlConnection)
        {
            await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@k)", new { k = PostgresLockKey }, transaction).ConfigureAwait(false);
        }

        var head = await connection.QuerySingleOrDefaultAsync<HeadRow>(
            "SELECT id, hash FROM security_events ORDER BY id DESC LIMIT 1", transaction: transaction).ConfigureAwait(false);
        var entry = new SecurityAuditEntry(
            (head?.Id ?? 0) + 1,
            AuditChain.Normalize(now),
            securityEvent.Kind,
            securityEvent.Actor.Kind,
            securityEvent.Actor.Id,
            Cut(securityEvent.SubjectKind),
            securityEvent.SubjectId,
            Cut(securityEvent.Action),
            Cut(securityEvent.Reason),
            Cut(securityEvent.Detail));
        var previousHash = head?.Hash ?? AuditChain.GenesisHash;
        var hash = AuditChain.HashOf(entry, previousHash);
        await connection.ExecuteAsync(
            """
            INSERT INTO security_events (id, at, kind, actor_kind, actor_id, subject_kind, subject_id, action, reason, detail, previous_hash, hash)
            VALUES (@Id, @At, @Kind, @ActorKind, @ActorId, @SubjectKind, @SubjectId, @Action, @Reason, @Detail, @previousHash, @hash)
            """,
            new
            {
                entry.Id,
                entry.At,
                entry.Kind,
                entry.ActorKind,
                entry.ActorId,
                entry.SubjectKind,
                entry.SubjectId,
                entry.Action,
                entry.Reason,
                entry.Detail,
                previousHash,
                hash,
            },
            transaction).ConfigureAwait(false);
        return entry;
    }

    private static string? Cut(string? text) => text is { Length: > SecurityEvent.MaxTextLength } ? text[..SecurityEvent.MaxTextLength] : text;

    private sealed class HeadRow
    {
        public long Id { get; set; }

        public string Hash { get; set; } = "";
    }
}
