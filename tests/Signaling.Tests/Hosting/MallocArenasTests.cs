using Teletherapy.Signaling.Hosting;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>The server caps glibc's arenas at start-up unless glibc's own environment variable already did.</summary>
[Collection(nameof(MallocArenasTests))]
[CollectionDefinition(nameof(MallocArenasTests), DisableParallelization = true)]
public sealed class MallocArenasTests
{
    [Fact]
    public void On_glibc_the_cap_is_set_with_mallopt_unless_the_environment_set_one()
    {
        var before = Environment.GetEnvironmentVariable(MallocArenas.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(MallocArenas.EnvironmentVariable, null);
            var glibc = OperatingSystem.IsLinux() && (File.Exists("/lib/x86_64-linux-gnu/libc.so.6") || File.Exists("/lib/aarch64-linux-gnu/libc.so.6"));
            Assert.Equal(glibc ? MallocArenas.Outcome.Limited : MallocArenas.Outcome.NotGlibc, MallocArenas.Limit());

            Environment.SetEnvironmentVariable(MallocArenas.EnvironmentVariable, "4");
            Assert.Equal(MallocArenas.Outcome.FromEnvironment, MallocArenas.Limit());
        }
        finally
        {
            Environment.SetEnvironmentVariable(MallocArenas.EnvironmentVariable, before);
        }
    }
}
