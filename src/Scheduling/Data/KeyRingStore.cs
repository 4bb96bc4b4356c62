using Dapper;

namespace Teletherapy.Scheduling.Data;

/// <summary>
/// Storage for the web host's data-protection keys (XML documents, one per key) in the installation's database,
/// so a restart or another node reads the same keys. Keys are only ever added; the key manager expires them itself.
/// </summary>
public sealed class KeyRingStore
{
    private readonly Database _database;
    private readonly TimeProvider _time;

    internal KeyRingStore(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>Every stored key document, oldest first.</summary>
    public async Task<IReadOnlyList<string>> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.QueryAsync<string>("SELECT xml FROM data_protection_keys ORDER BY created_at, name").ConfigureAwait(false)).AsList();
    }

    /// <summary>Adds a key document; storing the same name again keeps the first (keys never change once written).</summary>
    public async Task StoreAsync(string name, string xml, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(xml);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@name, @xml, @at) ON CONFLICT (name) DO NOTHING",
            new { name, xml, at = _time.GetUtcNow() }).ConfigureAwait(false);
    }
}
