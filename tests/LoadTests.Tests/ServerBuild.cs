namespace Teletherapy.LoadTests.Tests;

/// <summary>Where the Signaling server the tests start as a process of its own was built.</summary>
internal static class ServerBuild
{
    /// <summary>The server build next to this test's (same configuration), else any.</summary>
    public static string Dll()
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var c in new[] { configuration, "Release", "Debug" })
            {
                var candidate = Path.Combine(dir.FullName, "src", "Signaling", "bin", c, "net10.0", "Teletherapy.Signaling.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("The Signaling server is not built.");
    }
}
