using System.Globalization;
using System.Net;
using Teletherapy.Signaling.Tests.Hosting;

namespace Teletherapy.EndToEnd;

/// <summary>
/// Cluster nodes as the operator runs them: each the built server in a process of its own (so one can be killed with
/// SIGKILL), on one fresh PostgreSQL database, behind a real haproxy that spreads new visitors round-robin and keeps
/// each on its node with a cookie (sticky sessions for SignalR), checking <c>/healthz</c> twice a second. The first
/// node sets up the demo clinic and its appointment (demo.json in its data folder).
/// </summary>
public sealed class ClusterProcesses : IAsyncDisposable
{
    private const string Haproxy = "/usr/sbin/haproxy";
    private readonly List<string> _folders = [];
    private ExternalProcess? _proxy;

    private ClusterProcesses()
    {
    }

    public List<Node> Nodes { get; } = [];

    /// <summary>The load balancer's address: what the browsers open, and the links in the emails.</summary>
    public string BaseUrl { get; private set; } = "";

    public DemoInfo Demo => DemoInfo.Read(Nodes[0].DataPath);

    public static async Task<ClusterProcesses> StartAsync(int count = 2)
    {
        ExternalProcess.Require(Haproxy, "haproxy");
        var cluster = new ClusterProcesses();
        try
        {
            await cluster.StartNodesAndProxyAsync(count);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Who holds the appointment's room now: the one node whose relay counts the session.</summary>
    public async Task<int> HomeAsync()
    {
        var homes = new List<int>();
        for (var i = 0; i < Nodes.Count; i++)
        {
            if (!Nodes[i].Killed && await Nodes[i].MetricAsync("teletherapy_sessions_active") > 0)
            {
                homes.Add(i);
            }
        }

        return Assert.Single(homes);
    }

    public async ValueTask DisposeAsync()
    {
        _proxy?.Dispose();
        foreach (var node in Nodes)
        {
            node.Dispose();
        }

        await Task.CompletedTask;
        foreach (var folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>What the nodes and the proxy printed, for a failing test's output.</summary>
    public string Logs() =>
        string.Join("\n", Nodes.Select((n, i) => $"--- node {i} ---\n{n.Output}")) + $"\n--- haproxy ---\n{_proxy?.Output}";

    private async Task StartNodesAndProxyAsync(int count)
    {
        var (database, connectionString) = await TestDatabases.CreatePostgresAsync("tt_e2e_cluster_");
        var proxyPort = ExternalProcess.FreeTcpPort();
        BaseUrl = $"http://127.0.0.1:{proxyPort}";
        for (var i = 0; i < count; i++)
        {
            // One at a time: the first creates the schema and the demo; the others find them.
            var node = Node.Start(i, NodeSettings(i, database, connectionString.ConnectionString));
            Nodes.Add(node);
            _folders.Add(node.DataPath);
            await node.WaitHealthyAsync();
        }

        var folder = Directory.CreateTempSubdirectory("teletherapy-haproxy-").FullName;
        _folders.Add(folder);
        var config = Path.Combine(folder, "haproxy.cfg");
        var servers = string.Join("\n", Nodes.Select((n, i) => $"  server node{i} 127.0.0.1:{n.Port} check cookie node{i}"));
        await File.WriteAllTextAsync(config, $"""
            global
              maxconn 4000
            defaults
              mode http
              option redispatch
              retries 3
              timeout connect 2s
              timeout client 1h
              timeout server 1h
              timeout tunnel 1h
            frontend web
              bind 127.0.0.1:{proxyPort}
              default_backend nodes
            backend nodes
              balance roundrobin
              cookie teletherapy_node insert indirect nocache httponly
              option httpchk GET /healthz
              default-server inter 500ms fall 2 rise 2
            {servers}

            """);
        _proxy = ExternalProcess.Start(Haproxy, ["-db", "-f", config]);
        await _proxy.WaitForTcpAsync(proxyPort);
        // Both nodes up in the proxy's eyes before anyone arrives, so round-robin alternates between them.
        await Task.Delay(1500);
    }

    private Dictionary<string, string?> NodeSettings(int index, string database, string connectionString) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["Teletherapy__Demo"] = index == 0 ? "true" : "false",
        ["Teletherapy__ApiKeys__0"] = Scenario.ApiKey,
        ["Teletherapy__PublicBaseUrl"] = BaseUrl,
        ["Teletherapy__ShutdownTimeoutSeconds"] = "2",
        ["ConnectionStrings__Postgres"] = connectionString,
        ["Cluster__Enabled"] = "true",
        ["Cluster__ClusterId"] = database,
        ["Cluster__NodePort"] = ExternalProcess.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
        ["Cluster__NodeName"] = $"node-{index}",
        ["Cluster__FailureDetectionSeconds"] = "3",
        ["Media__BindAddress"] = "127.0.0.1",
        ["Media__AnnouncedAddresses__0"] = "127.0.0.1",
        ["Media__UdpPort"] = "0",
        ["Media__TcpPort"] = "0",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Teletherapy"] = "Information",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        ["DOTNET_gcServer"] = "0",
    };

    /// <summary>One node: <c>dotnet Teletherapy.Signaling.dll</c> from the server's build output, its content root the project folder (the web client's files).</summary>
    public sealed class Node : IDisposable
    {
        private readonly ExternalProcess _process;
        private readonly HttpClient _http;

        private Node(ExternalProcess process, int port, string dataPath)
        {
            _process = process;
            Port = port;
            DataPath = dataPath;
            _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        }

        public int Port { get; }

        public string DataPath { get; }

        public bool Killed { get; private set; }

        public string Output => _process.Output;

        public HttpClient Http => _http;

        public static Node Start(int index, Dictionary<string, string?> settings)
        {
            var project = Path.Combine(RepositoryFolder.Root(), "src", "Signaling");
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var dll = Path.Combine(project, "bin", configuration, "net10.0", "Teletherapy.Signaling.dll");
            Assert.True(File.Exists(dll), $"The server is not built: {dll}");
            var port = ExternalProcess.FreeTcpPort();
            var dataPath = Directory.CreateTempSubdirectory($"teletherapy-node{index}-").FullName;
            settings["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
            settings["TELETHERAPY_DATA"] = dataPath;
            settings["Teletherapy__DataPath"] = dataPath;
            var process = ExternalProcess.Start("dotnet", [dll], settings, workingDirectory: project);
            return new Node(process, port, dataPath);
        }

        public async Task WaitHealthyAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (true)
            {
                Assert.False(_process.HasExited, $"The node exited:\n{Output}");
                try
                {
                    if ((await _http.GetAsync("healthz")).StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }

                Assert.True(DateTime.UtcNow < deadline, $"The node did not become healthy:\n{Output}");
                await Task.Delay(250);
            }
        }

        /// <summary>An unlabelled metric's value on this node (0 when absent).</summary>
        public async Task<double> MetricAsync(string name) => QualityTests.Metric(await _http.GetStringAsync("metrics"), name);

        /// <summary>SIGKILL: no shutdown, no goodbye to the cluster; its sockets close with it.</summary>
        public void Kill()
        {
            Killed = true;
            _process.Kill();
        }

        public void Dispose()
        {
            _http.Dispose();
            _process.Dispose();
        }
    }
}
