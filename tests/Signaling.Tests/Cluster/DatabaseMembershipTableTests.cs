using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Teletherapy.Scheduling;
using Teletherapy.Scheduling.Data;
using Teletherapy.Signaling.Cluster;

namespace Teletherapy.Signaling.Tests.Cluster;

/// <summary>
/// Cluster mode: the runtime's membership table on the installation's database gives back exactly the entries it was
/// given (suspicions to the tick), moves the table version on with every write, and refuses writes quoting spent etags.
/// Runs on the embedded SQLite database, wired as <see cref="DatabaseMembership.AddDatabaseMembership"/> wires it.
/// </summary>
public sealed class DatabaseMembershipTableTests : IAsyncLifetime
{
    private const string ClusterId = "teletherapy-test";
    private static readonly DateTime T0 = new DateTime(2026, 3, 2, 8, 0, 0, DateTimeKind.Utc).AddTicks(1_234_567);
    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "teletherapy-test-" + Guid.NewGuid().ToString("N"));
    private ServiceProvider? _services;

    private IMembershipTable Table => _services!.GetRequiredService<IMembershipTable>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddScheduling(new Teletherapy.Scheduling.SchedulingOptions { DataPath = _dataPath });
        services.Configure<ClusterOptions>(o => o.ClusterId = ClusterId);
        services.AddDatabaseMembership();
        _services = services.BuildServiceProvider();
        await _services.GetRequiredService<MigrationRunner>().ApplyAsync();
        await Table.InitializeMembershipTableAsync(tryInitTableVersion: true, default);
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dataPath, recursive: true);
        }
        catch (IOException)
        {
            // Left for the temp cleaner.
        }
    }

    private static SiloAddress Silo(int lastOctet, int generation = 1) =>
        SiloAddress.New(new IPEndPoint(IPAddress.Parse($"10.0.0.{lastOctet}"), 11111), generation);

    private static MembershipEntry Entry(SiloAddress silo, SiloStatus status = SiloStatus.Joining) => new()
    {
        SiloAddress = silo,
        Status = status,
        SuspectTimes = [],
        ProxyPort = 30000,
        HostName = "node-a",
        SiloName = "Silo_a",
        RoleName = "teletherapy",
        UpdateZone = 2,
        FaultZone = 3,
        StartTime = T0,
        IAmAliveTime = T0,
    };

    [Fact]
    public void The_extension_registers_the_database_table_as_the_membership_table() =>
        Assert.IsType<DatabaseMembershipTable>(Table);

    [Fact]
    public async Task An_entry_with_suspect_times_comes_back_exactly_as_written()
    {
        var entry = Entry(Silo(1, generation: 123_456_789), SiloStatus.Active);
        entry.SuspectTimes =
        [
            Tuple.Create(Silo(2), T0.AddTicks(7)),
            Tuple.Create(Silo(3, generation: 42), T0.AddSeconds(1).AddTicks(3)),
        ];
        var empty = await Table.ReadAllAsync(default);
        Assert.True(await Table.InsertRowAsync(entry, empty.Version.Next(), default));

        var all = await Table.ReadAllAsync(default);
        var (read, etag) = Assert.Single(all.Members);
        AssertSame(entry, read);
        Assert.False(string.IsNullOrEmpty(etag));

        var one = await Table.ReadRowAsync(entry.SiloAddress, default);
        AssertSame(entry, Assert.Single(one.Members).Item1);
        Assert.Equal(etag, one.Members[0].Item2);
        Assert.Equal(all.Version, one.Version);
    }

    [Fact]
    public async Task Every_write_moves_the_table_version_on_and_spent_etags_are_refused()
    {
        var initial = await Table.ReadAllAsync(default);
        Assert.Equal(0, initial.Version.Version);
        var entry = Entry(Silo(1));
        Assert.True(await Table.InsertRowAsync(entry, initial.Version.Next(), default));
        Assert.False(await Table.InsertRowAsync(Entry(Silo(2)), initial.Version.Next(), default));

        var afterInsert = await Table.ReadAllAsync(default);
        Assert.Equal(1, afterInsert.Version.Version);
        Assert.NotEqual(initial.Version.VersionEtag, afterInsert.Version.VersionEtag);
        var rowEtag = afterInsert.Members[0].Item2;

        // A heartbeat changes neither version nor etag, and is read back.
        entry.IAmAliveTime = T0.AddSeconds(30);
        await Table.UpdateIAmAliveAsync(entry, default);
        var afterHeartbeat = await Table.ReadAllAsync(default);
        Assert.Equal(afterInsert.Version, afterHeartbeat.Version);
        Assert.Equal(rowEtag, afterHeartbeat.Members[0].Item2);
        Assert.Equal(T0.AddSeconds(30), afterHeartbeat.Members[0].Item1.IAmAliveTime);

        entry.Status = SiloStatus.Active;
        Assert.False(await Table.UpdateRowAsync(entry, "not-the-etag", afterHeartbeat.Version.Next(), default));
        Assert.True(await Table.UpdateRowAsync(entry, rowEtag, afterHeartbeat.Version.Next(), default));
        Assert.False(await Table.UpdateRowAsync(entry, rowEtag, afterHeartbeat.Version.Next(), default));

        var afterUpdate = await Table.ReadRowAsync(entry.SiloAddress, default);
        Assert.Equal(2, afterUpdate.Version.Version);
        Assert.Equal(SiloStatus.Active, afterUpdate.Members[0].Item1.Status);
        Assert.NotEqual(rowEtag, afterUpdate.Members[0].Item2);
    }

    [Fact]
    public async Task Reading_an_unknown_silo_returns_the_table_version_and_no_rows()
    {
        Assert.True(await Table.InsertRowAsync(Entry(Silo(1)), (await Table.ReadAllAsync(default)).Version.Next(), default));
        var version = (await Table.ReadAllAsync(default)).Version;

        var unknown = await Table.ReadRowAsync(Silo(9), default);

        Assert.Empty(unknown.Members);
        Assert.Equal(version, unknown.Version);
        Assert.Equal(1, unknown.Version.Version);
    }

    [Fact]
    public async Task Cleanup_keeps_a_silo_declared_dead_recently_and_removes_one_dead_for_long()
    {
        var longDead = Entry(Silo(1), SiloStatus.Dead);
        var justDeclaredDead = Entry(Silo(2), SiloStatus.Dead);
        justDeclaredDead.SuspectTimes = [Tuple.Create(Silo(3), T0.AddDays(8))];
        var active = Entry(Silo(3), SiloStatus.Active);
        foreach (var entry in new[] { longDead, justDeclaredDead, active })
        {
            Assert.True(await Table.InsertRowAsync(entry, (await Table.ReadAllAsync(default)).Version.Next(), default));
        }

        await Table.CleanupDefunctSiloEntriesAsync(new DateTimeOffset(T0.AddDays(7)), default);

        var left = (await Table.ReadAllAsync(default)).Members.Select(m => m.Item1.SiloAddress).ToHashSet();
        Assert.Equal([Silo(2), Silo(3)], left.OrderBy(s => s.Endpoint.Address.ToString()));
    }

    [Fact]
    public async Task Deleting_the_cluster_leaves_an_empty_table_that_can_start_again()
    {
        Assert.True(await Table.InsertRowAsync(Entry(Silo(1)), (await Table.ReadAllAsync(default)).Version.Next(), default));

        await Table.DeleteMembershipTableEntriesAsync(ClusterId, default);
        await Table.InitializeMembershipTableAsync(tryInitTableVersion: true, default);

        var fresh = await Table.ReadAllAsync(default);
        Assert.Empty(fresh.Members);
        Assert.Equal(0, fresh.Version.Version);
    }

    private static void AssertSame(MembershipEntry expected, MembershipEntry actual)
    {
        Assert.Equal(expected.SiloAddress, actual.SiloAddress);
        Assert.Equal(expected.SiloAddress.Generation, actual.SiloAddress.Generation);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(
            expected.SuspectTimes!.Select(s => (s.Item1, s.Item1.Generation, s.Item2, s.Item2.Kind)),
            actual.SuspectTimes!.Select(s => (s.Item1, s.Item1.Generation, s.Item2, s.Item2.Kind)));
        Assert.Equal(
            (expected.ProxyPort, expected.HostName, expected.SiloName, expected.RoleName, expected.UpdateZone, expected.FaultZone),
            (actual.ProxyPort, actual.HostName, actual.SiloName, actual.RoleName, actual.UpdateZone, actual.FaultZone));
        Assert.Equal((expected.StartTime, expected.StartTime.Kind), (actual.StartTime, actual.StartTime.Kind));
        Assert.Equal((expected.IAmAliveTime, expected.IAmAliveTime.Kind), (actual.IAmAliveTime, actual.IAmAliveTime.Kind));
    }
}
