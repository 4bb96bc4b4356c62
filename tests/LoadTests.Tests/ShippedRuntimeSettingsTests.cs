using System.Text.Json;
using System.Text.RegularExpressions;
using Teletherapy.LoadTests.Targets;
using Teletherapy.Signaling.Tests.Hosting;

namespace Teletherapy.LoadTests.Tests;

/// <summary>
/// The runtime settings the server is measured with are the ones it ships with: <c>run.sh</c>, the container image
/// and the load tool's own server set the same environment, and the build's runtime configuration has the JIT
/// setting README "Performance" was measured with.
/// </summary>
[Collection(LoadRuns.Name)]
public sealed class ShippedRuntimeSettingsTests
{
    [Fact]
    public void RunShAndTheContainerImageSetWhatTheLoadToolsServerGets()
    {
        var root = RepositoryFolder.Root();
        var runSh = File.ReadAllText(Path.Combine(root, "run.sh"));
        var dockerfile = File.ReadAllText(Path.Combine(root, "Dockerfile"));
        foreach (var (variable, value) in TeletherapyServer.ShippedEnvironment)
        {
            // run.sh keeps a value the caller exported: export NAME="${NAME:-value}".
            Assert.Contains($"export {variable}=\"${{{variable}:-{value}}}\"", runSh, StringComparison.Ordinal);
            Assert.Matches(new Regex($@"^\s*(ENV\s+)?{Regex.Escape(variable)}={Regex.Escape(value)}\s*\\?\s*$", RegexOptions.Multiline), dockerfile);
        }
    }

    [Fact]
    public async Task TheServerTheToolStartsHasTheShippedEnvironment()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var server = await TeletherapyServer.StartAsync(ServerBuild.Dll(), timeout.Token);
        await using (server.ConfigureAwait(false))
        {
            var environment = ProcessEnvironment(server.Pid);
            foreach (var (variable, value) in TeletherapyServer.ShippedEnvironment)
            {
                // A value the caller's environment gives wins, as it does for run.sh.
                var expected = Environment.GetEnvironmentVariable(variable) is { Length: > 0 } given ? given : value;
                Assert.True(environment.TryGetValue(variable, out var actual), $"{variable} is not in the server's environment");
                Assert.Equal(expected, actual);
            }
        }
    }

    [Fact]
    public void TheServerIsBuiltWithTheRuntimeSettingsItWasMeasuredWith()
    {
        var runtimeConfig = Path.ChangeExtension(ServerBuild.Dll(), ".runtimeconfig.json");
        using var document = JsonDocument.Parse(File.ReadAllText(runtimeConfig));
        var properties = document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.False(properties.GetProperty("System.Runtime.TieredCompilation").GetBoolean());
        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
        Assert.True(properties.GetProperty("Microsoft.Extensions.DependencyInjection.DisableDynamicEngine").GetBoolean());
        Assert.True(properties.GetProperty("Switch.System.Reflection.ForceInterpretedInvoke").GetBoolean());
    }

    private static Dictionary<string, string> ProcessEnvironment(int pid)
    {
        var entries = File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                environment[entry[..equals]] = entry[(equals + 1)..];
            }
        }

        return environment;
    }
}
