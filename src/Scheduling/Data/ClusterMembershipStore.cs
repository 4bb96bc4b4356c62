using System.Data.Common;
using Dapper;

namespace Teletherapy.Scheduling.Data;

/// <summary>
/// Storage for the membership table of the cluster mode in the installation's own database, so a cluster needs no
/// tables or scripts of the cluster runtime. The runtime decides who is alive and who is dead; this class only makes
/// each of its writes atomic and conditional: every change to a member row also moves the cluster's version row on,
/// and only when the version etag (and for an update the row etag) is still the one the writer read. Of two nodes
/// writing at once, the second finds the etag changed and is refused, on PostgreSQL (the version row's lock and the
/// re-checked <c>WHERE etag = …</c>) as on SQLite (one writer at a time).
/// </summary>
/// <remarks>
/// Knows nothing of the runtime's types: rows carry the member's address, status and whole entry as text and numbers,
/// which the cluster host maps to and from its own types.
/// </remarks>
public sealed class ClusterMembershipStore
{
    private readonly Database _database;

    internal ClusterMembershipStore(Database database)
    {
        _database = database;
    }

    /// <summary>Creates the cluster's version row (version 0) unless it exists; several nodes starting at once are fine.</summary>
    public async Task InitializeAsync(string clusterId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO cluster_versions (cluster_id, version, etag) VALUES (@clusterId, 0, @etag) ON CONFLICT (cluster_id) DO NOTHING",
            new { clusterId, etag = NewEtag() },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// The version and every member of the cluster, read in one statement so the rows belong to that version;
    /// null when the cluster has no version row yet.
    /// </summary>
    public Task<ClusterMembershipRows?> ReadAllAsync(string clusterId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        return ReadAsync(
            """
            SELECT v.version, v.etag AS version_etag, m.address, m.status, m.entry, m.etag, m.i_am_alive_at
            FROM cluster_versions v LEFT JOIN cluster_members m ON m.cluster_id = v.cluster_id
            WHERE v.cluster_id = @clusterId
            ORDER BY m.address
            """,
            new { clusterId },
            cancellationToken);
    }

    /// <summary>The version and the one member at <paramref name="address"/> (none when unknown), read together.</summary>
    public Task<ClusterMembershipRows?> ReadOneAsync(string clusterId, string address, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        ArgumentException.ThrowIfNullOrEmpty(address);
        return ReadAsync(
            """
            SELECT v.version, v.etag AS version_etag, m.address, m.status, m.entry, m.etag, m.i_am_alive_at
            FROM cluster_versions v LEFT JOIN cluster_members m ON m.cluster_id = v.cluster_id AND m.address = @address
            WHERE v.cluster_id = @clusterId
            """,
            new { clusterId, address },
            cancellationToken);
    }

    /// <summary>
    /// Adds a member and sets the version to <paramref name="newVersion"/> with a new etag, both or neither: false when
    /// the version etag is no longer <paramref name="expectedVersionEtag"/> or the address is already a member.
    /// </summary>
    public async Task<bool> InsertAsync(string clusterId, ClusterMemberWrite member, int newVersion, string expectedVersionEtag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(expectedVersionEtag);
        return await WriteIfVersionAsync(clusterId, newVersion, expectedVersionEtag, (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO cluster_members (cluster_id, address, status, entry, etag, i_am_alive_at, changed_at)
            VALUES (@clusterId, @Address, @Status, @Entry, @etag, @IAmAliveAt, @ChangedAt)
            ON CONFLICT (cluster_id, address) DO NOTHING
            """,
            new { clusterId, member.Address, member.Status, member.Entry, etag = NewEtag(), member.IAmAliveAt, member.ChangedAt },
            transaction,
            cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces a member's entry and sets the version to <paramref name="newVersion"/>, both with new etags, both or
    /// neither: false when the row's etag is no longer <paramref name="expectedEtag"/> (or the row is gone) or the
    /// version etag no longer <paramref name="expectedVersionEtag"/>. The heartbeat only ever moves forward: an entry
    /// read before the member's latest heartbeat does not set it back.
    /// </summary>
    public async Task<bool> UpdateAsync(
        string clusterId, ClusterMemberWrite member, string expectedEtag, int newVersion, string expectedVersionEtag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(expectedEtag);
        ArgumentNullException.ThrowIfNull(expectedVersionEtag);
        return await WriteIfVersionAsync(clusterId, newVersion, expectedVersionEtag, (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE cluster_members
            SET status = @Status, entry = @Entry, etag = @etag, changed_at = @ChangedAt,
                i_am_alive_at = CASE WHEN i_am_alive_at < @IAmAliveAt THEN @IAmAliveAt ELSE i_am_alive_at END
            WHERE cluster_id = @clusterId AND address = @Address AND etag = @expectedEtag
            """,
            new { clusterId, member.Address, member.Status, member.Entry, etag = NewEtag(), member.IAmAliveAt, member.ChangedAt, expectedEtag },
            transaction,
            cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a member's heartbeat and nothing else: neither etag changes, so what another node read before the
    /// heartbeat is still good for its next conditional write. False when the address is not a member.
    /// </summary>
    public async Task<bool> UpdateIAmAliveAsync(string clusterId, string address, DateTimeOffset iAmAliveAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        ArgumentException.ThrowIfNullOrEmpty(address);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE cluster_members SET i_am_alive_at = @iAmAliveAt WHERE cluster_id = @clusterId AND address = @address",
            new { clusterId, address, iAmAliveAt },
            cancellationToken: cancellationToken)).ConfigureAwait(false) == 1;
    }

    /// <summary>Forgets the cluster: its members and its version row (a later start begins again at version 0).</summary>
    public async Task DeleteClusterAsync(string clusterId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM cluster_members WHERE cluster_id = @clusterId", new { clusterId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM cluster_versions WHERE cluster_id = @clusterId", new { clusterId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes members that are not in <paramref name="activeStatus"/> and have shown no sign of life since
    /// <paramref name="before"/>: neither a heartbeat nor a time in their entry (start, latest suspicion) is that recent.
    /// The version is left alone, as the runtime expects of this cleanup. Returns how many rows went.
    /// </summary>
    public async Task<int> DeleteDefunctAsync(string clusterId, DateTimeOffset before, int activeStatus, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM cluster_members
            WHERE cluster_id = @clusterId AND status <> @activeStatus AND i_am_alive_at < @before AND changed_at < @before
            """,
            new { clusterId, before, activeStatus },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// The compare-and-set every member write goes through, in one transaction: the version moves on only if its etag
    /// is still <paramref name="expectedVersionEtag"/>, and the write must then change exactly one row; otherwise
    /// nothing is committed (disposing the transaction rolls the version change back) and the answer is false.
    /// </summary>
    private async Task<bool> WriteIfVersionAsync(
        string clusterId, int newVersion, string expectedVersionEtag, Func<DbConnection, DbTransaction, Task<int>> write, CancellationToken cancellationToken)
    {
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var advanced = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE cluster_versions SET version = @newVersion, etag = @etag WHERE cluster_id = @clusterId AND etag = @expectedVersionEtag",
                new { clusterId, newVersion, etag = NewEtag(), expectedVersionEtag },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (advanced != 1 || await write(connection, transaction).ConfigureAwait(false) != 1)
            {
                return false;
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    private async Task<ClusterMembershipRows?> ReadAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = (await connection.QueryAsync<JoinedRow>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        if (rows.Count == 0)
        {
            return null;
        }

        var members = rows
            .Where(r => r.Address is not null)
            .Select(r => new ClusterMemberRow(r.Address!, r.Status ?? 0, r.Entry!, r.Etag!, r.IAmAliveAt!.Value))
            .ToList();
        return new ClusterMembershipRows(rows[0].Version, rows[0].VersionEtag, members);
    }

    private static string NewEtag() => Guid.NewGuid().ToString("N");

    private sealed class JoinedRow
    {
        public int Version { get; set; }

        public string VersionEtag { get; set; } = "";

        public string? Address { get; set; }

        public int? Status { get; set; }

        public string? Entry { get; set; }

        public string? Etag { get; set; }

        public DateTimeOffset? IAmAliveAt { get; set; }
    }
}

/// <summary>What is written for a member: its address, status and whole entry, its heartbeat and the latest other time its entry names.</summary>
public sealed record ClusterMemberWrite(string Address, int Status, string Entry, DateTimeOffset IAmAliveAt, DateTimeOffset ChangedAt);

/// <summary>A stored member with the etag a conditional update must quote.</summary>
public sealed record ClusterMemberRow(string Address, int Status, string Entry, string Etag, DateTimeOffset IAmAliveAt);

/// <summary>The cluster's version and etag with the members read together with them.</summary>
public sealed record ClusterMembershipRows(int Version, string VersionEtag, IReadOnlyList<ClusterMemberRow> Members);
