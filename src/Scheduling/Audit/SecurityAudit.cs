using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Audit;

/// <summary>Filter and page of <c>GET /api/v1/audit</c>: newest first; <see cref="Before"/> is the <c>nextBefore</c> of the previous page.</summary>
/// <param name="From">Entries at or after this time.</param>
/// <param name="To">Entries before this time.</param>
/// <param name="Kind">One of <see cref="SecurityEventKinds.All"/>.</param>
/// <param name="Before">Entries with a smaller id (the next page).</param>
/// <param name="Limit">Page size, 1–<see cref="SecurityAudit.MaxPageSize"/> (default 100).</param>
public sealed record SecurityAuditQuery(DateTimeOffset? From = null, DateTimeOffset? To = null, string? Kind = null, long? Before = null, int? Limit = null);

/// <summary>One page of the trail; <see cref="NextBefore"/> asks for the next (older) page, null on the last one.</summary>
public sealed record SecurityAuditPage(IReadOnlyList<SecurityAuditEntry> Items, long? NextBefore);

/// <summary>
/// The security audit trail: sign-ins (also failed and locked ones), refusals, reads of patient data, and changes to
/// staff, the clinic and patients — who, what kind, which id; no names, emails or notes. Append-only (database
/// triggers refuse UPDATE and DELETE) and tamper-evident (a SHA-256 hash chain, see <see cref="AuditChain"/>);
/// <see cref="VerifyAsync"/> walks the chain and names the first row that does not check out.
/// </summary>
/// <remarks>
/// Changes made by Scheduling's use cases are recorded by them, in the same transaction as the change. The web layer
/// records what only it sees (sign-ins, reads) with <see cref="RecordAsync"/>; a failure to record is thrown, not
/// swallowed, so the caller can refuse what it could not audit.
/// <para>
/// A failed sign-in for an address that is no staff account's is kept as <c>email-hmac=</c> + HMAC-SHA256 of the
/// normalized address (first 128 bits) under a random key of this installation (table <c>installation_secrets</c>):
/// repeated attempts on the same address can be told apart and counted, but the address — perhaps a patient's, or a
/// colleague's typo — is not stored, and unlike a plain hash it cannot be confirmed by hashing guesses without the key.
/// </para>
/// </remarks>
public sealed partial class SecurityAudit
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    private const string EmailKeyName = "audit-email-hmac";
    private const int VerifyBatch = 1000;

    private readonly Database _database;
    private readonly TimeProvider _time;
    private readonly ILogger<SecurityAudit> _logger;
    private byte[]? _emailKey;

    internal SecurityAudit(Database database, TimeProvider time, ILogger<SecurityAudit> logger)
    {
        _database = database;
        _time = time;
        _logger = logger;
    }

    /// <summary>Appends one event (its own transaction) and returns the stored entry.</summary>
    public async Task<SecurityAuditEntry> RecordAsync(SecurityEvent securityEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(securityEvent);
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var resolved = await ResolveAttemptedEmailAsync(connection, transaction, securityEvent).ConfigureAwait(false);
            var entry = await SecurityTrail.AppendAsync(connection, transaction, resolved, _time.GetUtcNow()).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            if (entry.Kind is SecurityEventKinds.SignInFailed or SecurityEventKinds.SignInLocked)
            {
                LogSignInRefused(entry.Id, entry.Kind, entry.SubjectId);
            }

            return entry;
        }
    }

    /// <summary>A page of entries, newest first; invalid when the kind is unknown, the limit out of range or from is after to.</summary>
    public async Task<Result<SecurityAuditPage>> ListAsync(SecurityAuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var validation = new Validation();
        validation.Require(query.Kind is null || SecurityEventKinds.IsKnown(query.Kind), "kind", $"One of: {string.Join(", ", SecurityEventKinds.All)}.");
        validation.Require(query.Limit is null or >= 1 and <= MaxPageSize, "limit", $"From 1 to {MaxPageSize}.");
        validation.Require(query.From is null || query.To is null || query.From <= query.To, "from", "from is after to.");
        validation.Require(query.Before is null or > 0, "before", "A positive id.");
        if (validation.HasErrors)
        {
            return Result<SecurityAuditPage>.Invalid(validation.Errors);
        }

        var limit = query.Limit ?? DefaultPageSize;
        var filters = new List<string>();
        if (query.From is not null)
        {
            filters.Add("at >= @From");
        }

        if (query.To is not null)
        {
            filters.Add("at < @To");
        }

        if (query.Kind is not null)
        {
            filters.Add("kind = @Kind");
        }

        if (query.Before is not null)
        {
            filters.Add("id < @Before");
        }

        var where = filters.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", filters);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = (await connection.QueryAsync<Row>(
            $"SELECT {Row.Columns} FROM security_events {where} ORDER BY id DESC LIMIT {limit + 1}",
            new { query.From, query.To, query.Kind, query.Before }).ConfigureAwait(false)).ToList();
        var items = rows.Take(limit).Select(r => r.ToEntry()).ToList();
        return Result<SecurityAuditPage>.Ok(new SecurityAuditPage(items, rows.Count > limit ? items[^1].Id : null));
    }

    /// <summary>Walks the whole chain in id order and reports the first row that does not check out.</summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default)
    {
        var walker = new AuditChain.Walker();
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        long after = 0;
        while (true)
        {
            var batch = (await connection.QueryAsync<Row>(
                $"SELECT {Row.Columns}, previous_hash, hash FROM security_events WHERE id > @after ORDER BY id LIMIT {VerifyBatch}", new { after }).ConfigureAwait(false)).ToList();
            foreach (var row in batch)
            {
                if (walker.Check(new ChainedEntry(row.ToEntry(), row.PreviousHash, row.Hash)) is { } problem)
                {
                    LogChainBroken(row.Id, problem);
                    return new AuditVerification(false, walker.Checked, row.Id, problem, walker.LastId, walker.LastHash);
                }
            }

            if (batch.Count < VerifyBatch)
            {
                return new AuditVerification(true, walker.Checked, null, null, walker.LastId, walker.LastHash);
            }

            after = batch[^1].Id;
        }
    }

    /// <summary>Replaces a sign-in event's attempted email by the account's id, or by a keyed hash when no account has it.</summary>
    private async Task<SecurityEvent> ResolveAttemptedEmailAsync(DbConnection connection, DbTransaction transaction, SecurityEvent securityEvent)
    {
        if (securityEvent.AttemptedEmail is null)
        {
            return securityEvent;
        }

        var normalized = Validation.NormalizeEmail(securityEvent.AttemptedEmail);
        var staffId = normalized is { Length: <= 254 }
            ? await connection.QuerySingleOrDefaultAsync<Guid?>("SELECT id FROM staff WHERE email = @normalized", new { normalized }, transaction).ConfigureAwait(false)
            : null;
        if (staffId is not null)
        {
            return securityEvent with { AttemptedEmail = null, SubjectId = staffId };
        }

        var key = _emailKey ??= await InstallationSecrets.GetOrCreateAsync(connection, transaction, EmailKeyName, _time.GetUtcNow()).ConfigureAwait(false);
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(normalized ?? string.Empty));
        var hashed = "email-hmac=" + Convert.ToHexStringLower(mac.AsSpan(0, 16));
        return securityEvent with
        {
            AttemptedEmail = null,
            SubjectId = null,
            Detail = securityEvent.Detail is null ? hashed : $"{hashed} {securityEvent.Detail}",
        };
    }

    [LoggerMessage(EventId = 2800, Level = LogLevel.Warning, Message = "Security audit {EntryId}: {Kind} for staff {StaffId}")]
    private partial void LogSignInRefused(long entryId, string kind, Guid? staffId);

    [LoggerMessage(EventId = 2801, Level = LogLevel.Error, Message = "Security audit chain broken at row {EntryId}: {Problem}")]
    private partial void LogChainBroken(long entryId, string problem);

    private sealed class Row
    {
        public const string Columns = "id, at, kind, actor_kind, actor_id, subject_kind, subject_id, action, reason, detail";

        public long Id { get; set; }

        public DateTimeOffset At { get; set; }

        public string Kind { get; set; } = "";

        public string ActorKind { get; set; } = "";

        public Guid? ActorId { get; set; }

        public string? SubjectKind { get; set; }

        public Guid? SubjectId { get; set; }

        public string? Action { get; set; }

        public string? Reason { get; set; }

        public string? Detail { get; set; }

        public string PreviousHash { get; set; } = "";

        public string Hash { get; set; } = "";

        public SecurityAuditEntry ToEntry() => new(Id, At, Kind, ActorKind, ActorId, SubjectKind, SubjectId, Action, Reason, Detail);
    }
}
