using System.Diagnostics;

namespace Teletherapy.EndToEnd;

/// <summary>
/// Shapes loopback traffic with Linux traffic control, only where that is safe and possible: inside the loopback-only
/// network namespace <c>./test.sh</c> makes (<c>TELETHERAPY_NETNS=1</c>), as root, with <c>tc</c>. Elsewhere a test that
/// needs it is skipped, or fails when <c>CI</c> or <c>TELETHERAPY_REQUIRE_NETNS</c> says the namespace must be there.
/// </summary>
internal static class TrafficControl
{
    /// <summary>Skips (or fails, when required) unless loopback may be shaped here.</summary>
    public static void RequireNamespace()
    {
        var reason = WhyUnavailable();
        if (reason is null)
        {
            return;
        }

        var required = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TELETHERAPY_REQUIRE_NETNS"));
        Assert.False(required, $"This test shapes loopback traffic with tc and needs the network namespace of ./test.sh: {reason}");
        Skip.If(true, $"Needs the network namespace of ./test.sh (run it there, or set TELETHERAPY_REQUIRE_NETNS=1 to make this a failure): {reason}");
    }

    /// <summary>
    /// Caps UDP datagrams to one local port at <paramref name="rate"/> with a token bucket (tbf) under an htb root whose
    /// default class leaves all other loopback traffic alone. Disposing removes the shaping.
    /// </summary>
    public static IDisposable CapUdpPort(int port, string rate)
    {
        Run("qdisc del dev lo root", ignoreFailure: true);
        Run("qdisc add dev lo root handle 1: htb default 10");
        Run("class add dev lo parent 1: classid 1:10 htb rate 10gbit");
        Run("class add dev lo parent 1: classid 1:20 htb rate 10gbit");
        Run($"qdisc add dev lo parent 1:20 handle 20: tbf rate {rate} burst 4kb latency 100ms");
        Run($"filter add dev lo parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff match ip dport {port} 0xffff flowid 1:20");
        return new Removal();
    }

    private static string? WhyUnavailable()
    {
        if (Environment.GetEnvironmentVariable("TELETHERAPY_NETNS") != "1")
        {
            return "TELETHERAPY_NETNS is not 1 (shaping the host's own loopback is never done)";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "not root";
        }

        if (!File.Exists("/usr/sbin/tc") && !File.Exists("/sbin/tc"))
        {
            return "tc (iproute2) is not installed";
        }

        return null;
    }

    private static void Run(string arguments, bool ignoreFailure = false)
    {
        using var process = Process.Start(new ProcessStartInfo(File.Exists("/usr/sbin/tc") ? "/usr/sbin/tc" : "/sbin/tc", arguments)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && !ignoreFailure)
        {
            throw new InvalidOperationException($"tc {arguments} failed: {error}");
        }
    }

    private sealed class Removal : IDisposable
    {
        public void Dispose() => Run("qdisc del dev lo root", ignoreFailure: true);
    }
}
