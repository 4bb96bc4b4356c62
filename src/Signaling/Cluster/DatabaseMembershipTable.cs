using System.Text.Json;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// The cluster runtime's membership table kept in the installation's own database (<see cref="ClusterMembershipStore"/>),
/// so cluster mode needs no tables or scripts of the runtime's own database providers. The runtime keeps its protocol
/// (probing, suspecting, declaring dead); this class only turns its entries into rows and back.
/// </summary>
/// <remarks>
/// Each entry is stored whole as JSON in our own shape, so a runtime upgrade that changes its serializer does not make
/// the stored rows unreadable. The heartbeat also has its own column, written alone by <see cref="UpdateIAmAliveAsync"/>;
/// an entry read back carries the later of the two (PostgreSQL keeps the column to the microsecond, the JSON keeps the
/// exact ticks).
/// </remarks>
internal sealed class DatabaseMembershipTable(ClusterMembershipStore store, IOptions<ClusterOptions> clusterOptions) : IMembershipTable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private string ClusterId => clusterOptions.Value.ClusterId;

    public Task InitializeMembershipTable(bool tryInitTableVersion) => InitializeMembershipTableAsync(tryInitTableVersion, CancellationToken.None);

    public Task InitializeMembershipTableAsync(bool tryInitTableVersion, CancellationToken cancellationToken) =>
        tryInitTableVersion ? store.InitializeAsync(ClusterId, cancellationToken) : Task.CompletedTask;

    public Task DeleteMembershipTableEntries(string clusterId) => DeleteMembershipTableEntriesAsync(clusterId, CancellationToken.None);

    public Task DeleteMembershipTableEntriesAsync(string clusterId, CancellationToken cancellationToken) => store.DeleteClusterAsync(clusterId, cancellationToken);

    public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) => CleanupDefunctSiloEntriesAsync(beforeDate, CancellationToken.None);

    public Task CleanupDefunctSiloEntriesAsync(DateTimeOffset beforeDate, CancellationToken cancellationToken) =>
        store.DeleteDefunctAsync(ClusterId, beforeDate, (int)SiloStatus.Active, cancellationToken);

    public Task<MembershipTableData> ReadRow(SiloAddress key) => ReadRowAsync(key, CancellationToken.None);

    public async Task<MembershipTableData> ReadRowAsync(SiloAddress key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ToTableData(await store.ReadOneAsync(ClusterId, key.ToParsableString(), cancellationToken).ConfigureAwait(false));
    }

    public Task<MembershipTableData> ReadAll() => ReadAllAsync(CancellationToken.None);

    public async Task<MembershipTableData> ReadAllAsync(CancellationToken cancellationToken) =>
        ToTableData(await store.ReadAllAsync(ClusterId, cancellationToken).ConfigureAwait(false));

    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) => InsertRowAsync(entry, tableVersion, CancellationToken.None);

    public Task<bool> InsertRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tableVersion);
        return store.InsertAsync(ClusterId, ToWrite(entry), tableVersion.Version, tableVersion.VersionEtag, cancellationToken);
    }

    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) => UpdateRowAsync(entry, etag, tableVersion, CancellationToken.None);

    public Task<bool> UpdateRowAsync(MembershipEntry entry, string etag, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tableVersion);
        return store.UpdateAsync(ClusterId, ToWrite(entry), etag, tableVersion.Version, tableVersion.VersionEtag, cancellationToken);
    }

    public Task UpdateIAmAlive(MembershipEntry entry) => UpdateIAmAliveAsync(entry, CancellationToken.None);

    public async Task UpdateIAmAliveAsync(MembershipEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var address = entry.SiloAddress.ToParsableString();
        if (!await store.UpdateIAmAliveAsync(ClusterId, address, ToOffset(entry.IAmAliveTime), cancellationToken).ConfigureAwait(false))
        {
            // The runtime logs a failed heartbeat and tries again; a silo without a row has been removed from the cluster.
            throw new InvalidOperationException($"Silo {address} has no membership row in cluster {ClusterId}.");
        }
    }

    /// <summary>The entry as JSON in our own shape (see the class remarks).</summary>
    private static string Serialize(MembershipEntry entry) => JsonSerializer.Serialize(
        new StoredEntry(
            entry.SiloAddress.ToParsableString(),
            (int)entry.Status,
            entry.SuspectTimes?.Select(s => new StoredSuspicion(s.Item1.ToParsableString(), s.Item2)).ToList(),
            entry.ProxyPort,
            entry.HostName,
            entry.SiloName,
            entry.RoleName,
            entry.UpdateZone,
            entry.FaultZone,
            entry.StartTime,
            entry.IAmAliveTime),
        Json);

    private static MembershipEntry Deserialize(string json)
    {
        var stored = JsonSerializer.Deserialize<StoredEntry>(json, Json) ?? throw new JsonException("A membership entry is empty.");
        return new MembershipEntry
        {
            SiloAddress = SiloAddress.FromParsableString(stored.SiloAddress),
            Status = (SiloStatus)stored.Status,
            SuspectTimes = stored.SuspectTimes?.Select(s => Tuple.Create(SiloAddress.FromParsableString(s.Silo), s.At)).ToList(),
            ProxyPort = stored.ProxyPort,
            HostName = stored.HostName!,
            SiloName = stored.SiloName!,
            RoleName = stored.RoleName,
            UpdateZone = stored.UpdateZone,
            FaultZone = stored.FaultZone,
            StartTime = stored.StartTime,
            IAmAliveTime = stored.IAmAliveTime,
        };
    }

    private static ClusterMemberWrite ToWrite(MembershipEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(entry.SiloAddress);
        // The latest time the entry names besides its heartbeat: a silo declared dead a minute ago stays in the table
        // however long ago its last heartbeat was (the cleanup judges "defunct" by both).
        var changed = ToOffset(entry.StartTime);
        foreach (var (_, at) in entry.SuspectTimes ?? [])
        {
            changed = ToOffset(at) > changed ? ToOffset(at) : changed;
        }

        return new ClusterMemberWrite(entry.SiloAddress.ToParsableString(), (int)entry.Status, Serialize(entry), ToOffset(entry.IAmAliveTime), changed);
    }

    private static MembershipTableData ToTableData(ClusterMembershipRows? snapshot)
    {
        if (snapshot is null)
        {
            // Not initialized (only a silo creates the version row): nothing to read, and no etag a write could match.
            return new MembershipTableData(new TableVersion(0, string.Empty));
        }

        var rows = new List<Tuple<MembershipEntry, string>>(snapshot.Members.Count);
        foreach (var member in snapshot.Members)
        {
            var entry = Deserialize(member.Entry);
            if (member.IAmAliveAt > ToOffset(entry.IAmAliveTime))
            {
                entry.IAmAliveTime = member.IAmAliveAt.UtcDateTime;
            }

            rows.Add(Tuple.Create(entry, member.Etag));
        }

        return new MembershipTableData(rows, new TableVersion(snapshot.Version, snapshot.VersionEtag));
    }

    /// <summary>The runtime's times are UTC; one without a kind is taken as UTC, a local one converted.</summary>
    private static DateTimeOffset ToOffset(DateTime time) => time.Kind == DateTimeKind.Local
        ? new DateTimeOffset(time.ToUniversalTime(), TimeSpan.Zero)
        : new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc), TimeSpan.Zero);

    private sealed record StoredEntry(
        string SiloAddress,
        int Status,
        List<StoredSuspicion>? SuspectTimes,
        int ProxyPort,
        string? HostName,
        string? SiloName,
        string? RoleName,
        int UpdateZone,
        int FaultZone,
        DateTime StartTime,
        DateTime IAmAliveTime);

    private sealed record StoredSuspicion(string Silo, DateTime At);
}
