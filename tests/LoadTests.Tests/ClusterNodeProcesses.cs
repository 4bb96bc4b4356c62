using System.Globalization;
using Teletherapy.LoadTests.Targets;
using Teletherapy.Signaling.Tests.Hosting;

namespace Teletherapy.LoadTests.Tests;

/// <summary>
/// Cluster nodes as processes of their own (so each one's CPU and rooms are its own), started by the load tool's
/// launcher on a fresh PostgreSQL database: one cluster id (the database's name), one data folder (so every node's
/// join emails land in one outbox) and one API key, a node port each, loopback media as the tool's own server has.
/// </summary>
internal sealed class ClusterNodeProcesses : IAsyncDisposable
{
    private readonly List<TeletherapyServer> _nodes = [];

    private ClusterNodeProcesses(string dataPath, string apiKey)
    {
        DataPath = dataPath;
        ApiKey = apiKey;
    }

    public IReadOnlyList<TeletherapyServer> Nodes => _nodes;

    public string DataPath { get; }

    public string ApiKey { get; }

    public string OutboxPath => Path.Combine(DataPath, "outbox");

    /// <summary>Starts the nodes one after the other: the first founds the cluster, the others join it.</summary>
    public static async Task<ClusterNodeProcesses> StartAsync(int count, CancellationToken cancellationToken)
    {
        var (database, connectionString) = await TestDatabases.CreatePostgresAsync("tt_load_");
        var cluster = new ClusterNodeProcesses(Directory.CreateTempSubdirectory("teletherapy-load-cluster-").FullName, "load-" + Guid.NewGuid().ToString("N"));
        try
        {
            for (var i = 0; i < count; i++)
            {
                var launch = new ServerLaunch
                {
                    DataPath = cluster.DataPath,
                    ApiKey = cluster.ApiKey,
                    HealthyWithin = TimeSpan.FromSeconds(120),
                    Settings = new Dictionary<string, string>
                    {
                        ["ConnectionStrings__Postgres"] = connectionString.ConnectionString,
                        ["Cluster__Enabled"] = "true",
                        ["Cluster__ClusterId"] = database,
                        ["Cluster__NodePort"] = TeletherapyServer.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
                        ["Cluster__NodeName"] = $"load-node-{i}",
                        // Generous on a busy machine: a node slow to answer probes must not be declared dead mid-run.
                        ["Cluster__FailureDetectionSeconds"] = "30",
                    },
                };
                cluster._nodes.Add(await TeletherapyServer.StartAsync(ServerBuild.Dll(), launch, cancellationToken));
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>The end of every node's console output, for a failure message.</summary>
    public string LogTails()
    {
        return string.Join("\n", _nodes.Select(n => $"--- {n.BaseUrl} ({n.LogPath})\n{Tail(n.LogPath)}"));

        static string Tail(string path)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                return string.Join("\n", reader.ReadToEnd().Split('\n').TakeLast(30));
            }
            catch (IOException exception)
            {
                return exception.Message;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _nodes.Count - 1; i >= 0; i--)
        {
            await _nodes[i].DisposeAsync();
        }

        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
