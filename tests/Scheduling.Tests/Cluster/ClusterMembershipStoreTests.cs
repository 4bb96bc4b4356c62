using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Cluster;

/// <summary>
/// Cluster mode: the membership table's writes are compare-and-set on the version etag (and the row etag for an
/// update), all or nothing, and of several nodes quoting the same etag at once exactly one gets through. The heartbeat
/// changes nothing a conditional write depends on; the cleanup only removes members that are neither active nor recent.
/// </summary>
public abstract class ClusterMembershipStoreTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private const string Cluster = "teletherapy-test";
    private const int Active = 3;
    private const int Dead = 6;
    private static readonly DateTimeOffset T0 = SchedulingHarness.T0;

    private ClusterMembershipStore Store => Harness.Get<ClusterMembershipStore>();

    private static ClusterMemberWrite Member(string address, int status = Active, DateTimeOffset? alive = null, DateTimeOffset? changed = null, string entry = "{}") =>
        new(address, status, entry, alive ?? T0, changed ?? T0);

    private async Task<ClusterMembershipRows> ReadAllAsync() => (await Store.ReadAllAsync(Cluster))!;

    [DbFact]
    public async Task A_cluster_starts_at_version_0_and_initializing_again_keeps_its_version()
    {
        Assert.Null(await Store.ReadAllAsync(Cluster));
        await Store.InitializeAsync(Cluster);
        var first = await ReadAllAsync();
        Assert.Equal(0, first.Version);
        Assert.Empty(first.Members);

        Assert.True(await Store.InsertAsync(Cluster, Member("10.0.0.1:11111@1"), 1, first.VersionEtag));
        await Store.InitializeAsync(Cluster);
        var again = await ReadAllAsync();
        Assert.Equal(1, again.Version);
        Assert.Single(again.Members);
    }

    [DbFact]
    public async Task An_insert_quoting_a_version_etag_that_has_moved_on_is_refused_and_changes_nothing()
    {
        await Store.InitializeAsync(Cluster);
        var before = await ReadAllAsync();
        Assert.True(await Store.InsertAsync(Cluster, Member("10.0.0.1:11111@1", entry: """{"n":1}"""), 1, before.VersionEtag));

        var after = await ReadAllAsync();
        Assert.Equal(1, after.Version);
        Assert.NotEqual(before.VersionEtag, after.VersionEtag);
        var row = Assert.Single(after.Members);
        Assert.Equal(("10.0.0.1:11111@1", Active, """{"n":1}""", T0), (row.Address, row.Status, row.Entry, row.IAmAliveAt));

        Assert.False(await Store.InsertAsync(Cluster, Member("10.0.0.2:11111@1"), 2, before.VersionEtag));
        var unchanged = await ReadAllAsync();
        Assert.Equal((1, after.VersionEtag), (unchanged.Version, unchanged.VersionEtag));
        Assert.Single(unchanged.Members);
    }

    [DbFact]
    public async Task A_second_insert_of_the_same_address_is_refused_even_with_the_current_version_etag()
    {
        await Store.InitializeAsync(Cluster);
        Assert.True(await Store.InsertAsync(Cluster, Member("10.0.0.1:11111@1", entry: "first"), 1, (await ReadAllAsync()).VersionEtag));
        var current = await ReadAllAsync();

        Assert.False(await Store.InsertAsync(Cluster, Member("10.0.0.1:11111@1", entry: "second"), 2, current.VersionEtag));

        var after = await ReadAllAsync();
        Assert.Equal((1, current.VersionEtag), (after.Version, after.VersionEtag));
        Assert.Equal("first", Assert.Single(after.Members).Entry);
    }

    [DbFact]
    public async Task An_update_needs_the_current_row_and_version_etags_and_then_changes_both()
    {
        await Store.InitializeAsync(Cluster);
        const string address = "10.0.0.1:11111@1";
        Assert.True(await Store.InsertAsync(Cluster, Member(address, status: 2, entry: "joining"), 1, (await ReadAllAsync()).VersionEtag));
        var read = (await Store.ReadOneAsync(Cluster, address))!;
        var row = Assert.Single(read.Members);

        Assert.False(await Store.UpdateAsync(Cluster, Member(address, entry: "stale row"), "not-the-etag", 2, read.VersionEtag));
        Assert.False(await Store.UpdateAsync(Cluster, Member(address, entry: "stale version"), row.Etag, 2, "not-the-etag"));
        Assert.False(await Store.UpdateAsync(Cluster, Member("10.0.0.9:11111@1", entry: "no such row"), row.Etag, 2, read.VersionEtag));
        var untouched = (await Store.ReadOneAsync(Cluster, address))!;
        Assert.Equal((1, read.VersionEtag, row.Etag, "joining", 2), (untouched.Version, untouched.VersionEtag, untouched.Members[0].Etag, untouched.Members[0].Entry, untouched.Members[0].Status));

        Assert.True(await Store.UpdateAsync(Cluster, Member(address, status: Active, alive: T0.AddSeconds(5), entry: "active"), row.Etag, 2, read.VersionEtag));
        var updated = (await Store.ReadOneAsync(Cluster, address))!;
        var updatedRow = Assert.Single(updated.Members);
        Assert.Equal(2, updated.Version);
        Assert.NotEqual(read.VersionEtag, updated.VersionEtag);
        Assert.NotEqual(row.Etag, updatedRow.Etag);
        Assert.Equal(("active", Active, T0.AddSeconds(5)), (updatedRow.Entry, updatedRow.Status, updatedRow.IAmAliveAt));

        // The etags it quoted are spent.
        Assert.False(await Store.UpdateAsync(Cluster, Member(address, entry: "again"), row.Etag, 3, updated.VersionEtag));
        Assert.False(await Store.UpdateAsync(Cluster, Member(address, entry: "again"), updatedRow.Etag, 3, read.VersionEtag));
    }

    [DbFact]
    public async Task A_heartbeat_changes_only_the_heartbeat_and_an_older_entry_does_not_set_it_back()
    {
        await Store.InitializeAsync(Cluster);
        const string address = "10.0.0.1:11111@1";
        Assert.True(await Store.InsertAsync(Cluster, Member(address, entry: "entry"), 1, (await ReadAllAsync()).VersionEtag));
        var read = (await Store.ReadOneAsync(Cluster, address))!;

        Assert.True(await Store.UpdateIAmAliveAsync(Cluster, address, T0.AddMinutes(1)));
        Assert.False(await Store.UpdateIAmAliveAsync(Cluster, "10.0.0.9:11111@1", T0.AddMinutes(1)));

        var after = (await Store.ReadOneAsync(Cluster, address))!;
        var row = Assert.Single(after.Members);
        Assert.Equal((read.Version, read.VersionEtag), (after.Version, after.VersionEtag));
        Assert.Equal((read.Members[0].Etag, "entry", Active, T0.AddMinutes(1)), (row.Etag, row.Entry, row.Status, row.IAmAliveAt));

        // What was read before the heartbeat is still good for an update, whose older heartbeat does not win.
        Assert.True(await Store.UpdateAsync(Cluster, Member(address, status: Dead, alive: T0, entry: "dead"), read.Members[0].Etag, 2, read.VersionEtag));
        var dead = Assert.Single((await ReadAllAsync()).Members);
        Assert.Equal(("dead", Dead, T0.AddMinutes(1)), (dead.Entry, dead.Status, dead.IAmAliveAt));
    }

    [DbFact]
    public async Task Cleanup_removes_only_members_that_are_not_active_and_have_no_time_after_the_date()
    {
        await Store.InitializeAsync(Cluster);
        await Store.InitializeAsync("other-cluster");
        var old = T0.AddDays(-8);
        var cutoff = T0.AddDays(-7);
        var members = new[]
        {
            Member("10.0.0.1:11111@1", Dead, alive: old, changed: old),                    // defunct: goes
            Member("10.0.0.2:11111@1", 5, alive: old, changed: old),                       // stopping long ago: goes
            Member("10.0.0.3:11111@1", Active, alive: old, changed: old),                  // active: stays however old
            Member("10.0.0.4:11111@1", Dead, alive: T0, changed: old),                     // recent heartbeat: stays
            Member("10.0.0.5:11111@1", Dead, alive: old, changed: T0.AddHours(-1)),        // declared dead an hour ago: stays
            Member("10.0.0.6:11111@1", Dead, alive: cutoff, changed: cutoff),              // exactly at the date: stays
        };
        foreach (var member in members)
        {
            var current = await ReadAllAsync();
            Assert.True(await Store.InsertAsync(Cluster, member, current.Version + 1, current.VersionEtag));
        }

        var other = (await Store.ReadAllAsync("other-cluster"))!;
        Assert.True(await Store.InsertAsync("other-cluster", Member("10.0.0.1:11111@1", Dead, alive: old, changed: old), 1, other.VersionEtag));
        var version = await ReadAllAsync();

        Assert.Equal(2, await Store.DeleteDefunctAsync(Cluster, cutoff, Active));

        var after = await ReadAllAsync();
        Assert.Equal(["10.0.0.3:11111@1", "10.0.0.4:11111@1", "10.0.0.5:11111@1", "10.0.0.6:11111@1"], after.Members.Select(m => m.Address));
        Assert.Equal((version.Version, version.VersionEtag), (after.Version, after.VersionEtag));
        Assert.Single((await Store.ReadAllAsync("other-cluster"))!.Members);
    }

    [DbFact]
    public async Task Deleting_a_cluster_removes_its_members_and_version_and_no_other_cluster()
    {
        await Store.InitializeAsync(Cluster);
        await Store.InitializeAsync("other-cluster");
        Assert.True(await Store.InsertAsync(Cluster, Member("10.0.0.1:11111@1"), 1, (await ReadAllAsync()).VersionEtag));
        Assert.True(await Store.InsertAsync("other-cluster", Member("10.0.0.1:11111@1"), 1, (await Store.ReadAllAsync("other-cluster"))!.VersionEtag));

        await Store.DeleteClusterAsync(Cluster);

        Assert.Null(await Store.ReadAllAsync(Cluster));
        Assert.Null(await Store.ReadOneAsync(Cluster, "10.0.0.1:11111@1"));
        Assert.Single((await Store.ReadAllAsync("other-cluster"))!.Members);
        await Store.InitializeAsync(Cluster);
        Assert.Equal(0, (await ReadAllAsync()).Version);
    }

    [DbFact]
    public async Task Of_nodes_writing_at_once_with_the_same_version_etag_exactly_one_wins()
    {
        await Store.InitializeAsync(Cluster);
        const int nodes = 8;
        for (var round = 1; round <= 5; round++)
        {
            var read = await ReadAllAsync();
            using var start = new SemaphoreSlim(0, nodes);
            var attempts = Enumerable.Range(0, nodes).Select(node => Task.Run(async () =>
            {
                await start.WaitAsync();
                return await Store.InsertAsync(Cluster, Member($"10.0.{round}.{node}:11111@1"), read.Version + 1, read.VersionEtag);
            })).ToList();
            start.Release(nodes);
            var results = await Task.WhenAll(attempts);

            Assert.Equal(1, results.Count(won => won));
            var after = await ReadAllAsync();
            Assert.Equal(round, after.Version);
            Assert.Equal(round, after.Members.Count);
        }

        // Updates of one row race the same way.
        var current = await ReadAllAsync();
        var target = current.Members[0];
        using var go = new SemaphoreSlim(0, nodes);
        var updates = Enumerable.Range(0, nodes).Select(node => Task.Run(async () =>
        {
            await go.WaitAsync();
            return await Store.UpdateAsync(Cluster, Member(target.Address, Dead, entry: $"node {node}"), target.Etag, current.Version + 1, current.VersionEtag);
        })).ToList();
        go.Release(nodes);
        Assert.Equal(1, (await Task.WhenAll(updates)).Count(won => won));
        Assert.Equal(current.Version + 1, (await ReadAllAsync()).Version);
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class ClusterMembershipStoreTestsOnSqlite() : ClusterMembershipStoreTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class ClusterMembershipStoreTestsOnPostgres() : ClusterMembershipStoreTests(SqlDialect.Postgres);
