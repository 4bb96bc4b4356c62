using Dapper;
using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Access;

/// <summary>A refused attempt to read or change patient data: who, what (kind and id), which action and why.</summary>
public sealed record AccessRefusal(long Id, DateTimeOffset At, string ActorKind, Guid? ActorId, string ResourceKind, Guid? ResourceId, string Action, string Reason);

/// <summary>Kinds of resources in the access log.</summary>
public static class AccessResources
{
    public const string Appointment = "appointment";
    public const string Patient = "patient";
}

/// <summary>
/// The append-only log of refused access to patient data (README: Roles and the practice pages: refused, and for patient data audited).
/// Ids only: no names, emails or notes. Each refusal is also appended to the tamper-evident security audit trail
/// (<see cref="SecurityAudit"/>, kind <c>access-refused</c>) in the same transaction; this table stays as the list
/// <c>GET /api/v1/access-refusals</c> has always returned (its ids and shape are part of the API).
/// </summary>
public sealed partial class AccessLog
{
    private readonly Database _database;
    private readonly TimeProvider _time;
    private readonly ILogger<AccessLog> _logger;

    internal AccessLog(Database database, TimeProvider time, ILogger<AccessLog> logger)
    {
        _database = database;
        _time = time;
        _logger = logger;
    }

    public async Task RecordAsync(Caller caller, string resourceKind, Guid? resourceId, string action, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var actorKind = caller.IsIntegrator ? "integrator" : "staff";
        var now = _time.GetUtcNow();
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO access_refusals (at, actor_kind, actor_id, resource_kind, resource_id, action, reason)
                VALUES (@at, @actorKind, @actorId, @resourceKind, @resourceId, @action, @reason)
                """,
                new { at = now, actorKind, actorId = caller.StaffId, resourceKind, resourceId, action, reason },
                transaction).ConfigureAwait(false);
            await SecurityTrail.AppendAsync(
                connection, transaction, SecurityEvent.AccessRefused(AuditActor.From(caller), resourceKind, resourceId, action, reason), now).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        LogRefused(caller.StaffId, action, resourceKind, resourceId, reason);
    }

    /// <summary>The most recent refusals first (at most <paramref name="limit"/>).</summary>
    public async Task<IReadOnlyList<AccessRefusal>> ListAsync(int limit = 500, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<Row>(
            $"SELECT id, at, actor_kind, actor_id, resource_kind, resource_id, action, reason FROM access_refusals ORDER BY id DESC LIMIT {Math.Clamp(limit, 1, 5000)}").ConfigureAwait(false);
        return rows.Select(r => new AccessRefusal(r.Id, r.At, r.ActorKind, r.ActorId, r.ResourceKind, r.ResourceId, r.Action, r.Reason)).ToList();
    }

    [LoggerMessage(EventId = 2600, Level = LogLevel.Warning, Message = "Access refused: staff {StaffId} {Action} {ResourceKind} {ResourceId}: {Reason}")]
    private partial void LogRefused(Guid? staffId, string action, string resourceKind, Guid? resourceId, string reason);

    private sealed class Row
    {
        public long Id { get; set; }

        public DateTimeOffset At { get; set; }

        public string ActorKind { get; set; } = "";

        public Guid? ActorId { get; set; }

        public string ResourceKind { get; set; } = "";

        public Guid? ResourceId { get; set; }

        public string Action { get; set; } = "";

        public string Reason { get; set; } = "";
    }
}
