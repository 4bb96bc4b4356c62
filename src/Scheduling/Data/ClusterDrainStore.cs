using Dapper;

namespace Teletherapy.Scheduling.Data;

/// <summary>
/// Which nodes of a cluster are draining, in the database every node reads, so that whichever node places a new room
/// leaves the draining ones out. Addresses are the cluster runtime's text form of one run of a node.
/// </summary>
public sealed class ClusterDrainStore
{
    private readonly Database _database;
    private readonly TimeProvider _time;

    internal ClusterDrainStore(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>Marks the node draining (again: keeps the first time).</summary>
    public async Task MarkAsync(string clusterId, string address, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        ArgumentException.ThrowIfNullOrEmpty(address);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO cluster_draining (cluster_id, address, since) VALUES (@clusterId, @address, @since) ON CONFLICT (cluster_id, address) DO NOTHING",
            new { clusterId, address, since = _time.GetUtcNow() },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>The addresses of the cluster's draining nodes.</summary>
    public async Task<IReadOnlySet<string>> DrainingAsync(string clusterId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT address FROM cluster_draining WHERE cluster_id = @clusterId", new { clusterId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Forgets a node that has left the cluster (its address never comes back).</summary>
    public async Task ForgetAsync(string clusterId, string address, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM cluster_draining WHERE cluster_id = @clusterId AND address = @address", new { clusterId, address }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }
}
