using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Cluster;

/// <summary>Draining nodes: marked once (the first time kept), read per cluster, forgotten when they leave.</summary>
public abstract class ClusterDrainStoreTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private ClusterDrainStore Store => Harness.Get<ClusterDrainStore>();

    [DbFact]
    public async Task A_node_marked_draining_is_read_back_for_its_cluster_only_and_forgotten_when_it_leaves()
    {
        Assert.Empty(await Store.DrainingAsync("east"));
        await Store.MarkAsync("east", "10.0.0.1:11111@1");
        await Store.MarkAsync("east", "10.0.0.1:11111@1");
        await Store.MarkAsync("west", "10.0.0.2:11111@1");

        Assert.Equal(["10.0.0.1:11111@1"], await Store.DrainingAsync("east"));
        Assert.Equal(["10.0.0.2:11111@1"], await Store.DrainingAsync("west"));

        // The same node restarted is another run (another generation): open.
        Assert.DoesNotContain("10.0.0.1:11111@2", await Store.DrainingAsync("east"));

        await Store.ForgetAsync("east", "10.0.0.1:11111@1");
        Assert.Empty(await Store.DrainingAsync("east"));
        Assert.Single(await Store.DrainingAsync("west"));
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class ClusterDrainStoreTestsOnSqlite() : ClusterDrainStoreTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class ClusterDrainStoreTestsOnPostgres() : ClusterDrainStoreTests(SqlDialect.Postgres);
