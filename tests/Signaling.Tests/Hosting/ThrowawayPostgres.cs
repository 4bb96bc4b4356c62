using System.Diagnostics;
using Npgsql;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>
/// A PostgreSQL cluster of a test's own (not the shared test cluster), which the test may stop and start again: a
/// fresh <c>initdb</c> in a temporary folder on a free loopback port, run as an unprivileged user when the tests run
/// as root (PostgreSQL refuses root). Fails the test with the reason when the server binaries are missing.
/// </summary>
internal sealed class ThrowawayPostgres : IAsyncDisposable
{
    private const string User = "teletherapy-test";
    private readonly string _bin;
    private readonly string _folder;

    private ThrowawayPostgres(string bin, string folder, int port)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = "postgres",
        Timeout = 3,
    }.ConnectionString;

    private string Data => Path.Combine(_folder, "data");

    public static async Task<ThrowawayPostgres> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            : null;
        if (bin is null)
        {
            Assert.Fail("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/initdb): apt-get install -y postgresql; ./test.sh installs it before the tests run.");
        }

        var folder = Directory.CreateTempSubdirectory("teletherapy-outage-pg-").FullName;
        if (Environment.UserName == "root")
        {
            await RunAsync("/bin/sh", ["-c", $"id -u {User} >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin {User}"]);
            await RunAsync("chown", [User, folder]);
        }

        var postgres = new ThrowawayPostgres(bin!, folder, ExternalProcess.FreeTcpPort());
        await postgres.AsServerUserAsync(Path.Combine(bin!, "initdb"), ["-D", postgres.Data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        await postgres.StartAgainAsync();
        return postgres;
    }

    /// <summary>Starts the (stopped) server; returns once it accepts connections.</summary>
    public Task StartAgainAsync() => AsServerUserAsync(
        Path.Combine(_bin, "pg_ctl"),
        ["-D", Data, "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60",
         "-o", $"-k {_folder} -p {Port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off", "start"]);

    /// <summary>Stops the server (fast shutdown: open connections are closed, as on a restart of the host).</summary>
    public Task StopAsync() => AsServerUserAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Data, "-m", "fast", "-w", "stop"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await AsServerUserAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Data, "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // stopped already
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // left for the temp cleaner
        }
    }

    private Task AsServerUserAsync(string file, IReadOnlyList<string> arguments) =>
        Environment.UserName == "root" ? RunAsync("runuser", ["-u", User, "--", file, .. arguments]) : RunAsync(file, arguments);

    /// <summary>
    /// Runs a program to its end. Its output goes to a file, not to a pipe: <c>pg_ctl start</c> leaves the server
    /// running with the inherited descriptors, and a pipe would never reach its end.
    /// </summary>
    private static async Task RunAsync(string file, IReadOnlyList<string> arguments)
    {
        var log = Path.Combine(Path.GetTempPath(), $"teletherapy-outage-{Guid.NewGuid():N}.log");
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var argument in (string[])["-c", "exec \"$0\" \"$@\" >\"$LOG\" 2>&1 </dev/null", file, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["LOG"] = log;
        try
        {
            using var process = Process.Start(start)!;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {File.ReadAllText(log)}");
            }
        }
        finally
        {
            File.Delete(log);
        }
    }
}
