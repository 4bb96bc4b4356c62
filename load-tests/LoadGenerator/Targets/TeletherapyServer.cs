using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Teletherapy.LoadTests.Targets;

/// <summary>
/// Our server as a child process, so its CPU and memory are its own: the Signaling dll on a free loopback port,
/// a temporary data folder (SQLite, outbox), no demo, one API key, media on system-chosen loopback ports announced
/// as 127.0.0.1. With a <see cref="ServerLaunch"/> it is one node of several: a data folder and API key they share,
/// and the node's own settings (the cluster's) on top.
/// </summary>
internal sealed class TeletherapyServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly bool _ownsDataPath;

    private TeletherapyServer(Process process, StreamWriter log, Uri baseUrl, string dataPath, bool ownsDataPath, string apiKey, string logPath)
    {
        _process = process;
        _log = log;
        _ownsDataPath = ownsDataPath;
        BaseUrl = baseUrl;
        DataPath = dataPath;
        ApiKey = apiKey;
        LogPath = logPath;
    }

    public Uri BaseUrl { get; }

    public string DataPath { get; }

    public string ApiKey { get; }

    public int Pid => _process.Id;

    public string OutboxPath => Path.Combine(DataPath, "outbox");

    /// <summary>The server's console output (in the data folder).</summary>
    public string LogPath { get; }

    /// <summary>
    /// The runtime settings <c>run.sh</c> and the container image start the server with (environment variables, read
    /// before any of the server's code runs); the server the tool starts gets the same unless the caller set them.
    /// </summary>
    public static readonly IReadOnlyList<(string Variable, string Value)> ShippedEnvironment =
    [
        ("MALLOC_ARENA_MAX", "2"),
        ("DOTNET_GCgen0size", "0x400000"),
    ];

    public static Task<TeletherapyServer> StartAsync(string serverDll, CancellationToken cancellationToken) =>
        StartAsync(serverDll, new ServerLaunch(), cancellationToken);

    public static async Task<TeletherapyServer> StartAsync(string serverDll, ServerLaunch launch, CancellationToken cancellationToken)
    {
        if (!File.Exists(serverDll))
        {
            throw new FileNotFoundException($"The server is not built: {serverDll} is missing (./load-tests/run.sh builds it).", serverDll);
        }

        var port = FreeTcpPort();
        var dataPath = launch.DataPath ?? Directory.CreateTempSubdirectory("teletherapy-load-").FullName;
        var apiKey = launch.ApiKey ?? "load-" + Guid.NewGuid().ToString("N");
        var baseUrl = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(serverDll))!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.GetFullPath(serverDll));
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = baseUrl.ToString().TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["TELETHERAPY_DATA"] = dataPath,
            ["TELETHERAPY_DEMO"] = "0",
            ["Teletherapy__ApiKeys__0"] = apiKey,
            ["Teletherapy__ShutdownTimeoutSeconds"] = "2",
            ["Media__AnnouncedAddresses__0"] = "127.0.0.1",
            ["Media__BindAddress"] = "127.0.0.1",
            ["Media__UdpPort"] = "0",
            ["Media__TcpPort"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            // Every simulated client comes from 127.0.0.1: the per-client limits would see one client opening hundreds
            // of hub connections. The relay's own caps are raised past the largest run (they are measured, not tested, here).
            ["Throttling__HubConnectsPerMinute"] = "1000000",
            ["Throttling__HubConnectionsPerClient"] = "1000000",
            ["Throttling__JoinLookupsPerMinute"] = "1000000",
            ["Throttling__SignInsPerMinute"] = "1000000",
            ["Throttling__HubCallsPerSecond"] = "1000000",
            ["Media__MaxRouters"] = "100000",
            ["Media__MaxTransports"] = "100000",
            ["Media__MaxPendingDtlsHandshakes"] = "10000",
            ["Media__MaxTcpConnectionsPerAddress"] = "100000",
            ["Media__MaxTcpConnections"] = "100000",
        };
        // As run.sh and the container image start it: glibc's malloc with two arenas (README "Soak") and a 4 MiB
        // young generation (README "Configuration"), unless the caller's environment says otherwise.
        foreach (var (variable, value) in ShippedEnvironment)
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
            {
                environment[variable] = value;
            }
        }

        foreach (var (key, value) in environment.Concat(launch.Settings))
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The server did not start.");
        var logPath = Path.Combine(dataPath, launch.DataPath is null ? "server.log" : $"server-{port}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new TeletherapyServer(process, log, baseUrl, dataPath, launch.DataPath is null, apiKey, logPath);
        try
        {
            await server.WaitHealthyAsync(launch.HealthyWithin, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }

        if (!_ownsDataPath)
        {
            return;
        }

        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with code {_process.ExitCode}; see {LogPath}.");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUrl, "/healthz"), cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"The server was not healthy within {timeout.TotalSeconds:0} s; see {LogPath}.");
    }

    internal static int FreeTcpPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}

/// <summary>
/// How to start one server of several (cluster nodes): the data folder and API key they share (null: a fresh folder the
/// server deletes when stopped, and a key of its own), settings added to or replacing the defaults, and how long it may
/// take to become healthy (a cluster node also joins the cluster first).
/// </summary>
internal sealed record ServerLaunch
{
    public string? DataPath { get; init; }

    public string? ApiKey { get; init; }

    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    public TimeSpan HealthyWithin { get; init; } = TimeSpan.FromSeconds(60);
}
