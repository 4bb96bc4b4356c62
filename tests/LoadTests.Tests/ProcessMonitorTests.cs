using System.Diagnostics;

namespace Teletherapy.LoadTests.Tests;

public sealed class ProcessMonitorTests
{
    /// <summary>
    /// Counted on child processes whose descriptors and threads nothing else changes (the test host's own change with
    /// every test running beside this one): a single-threaded <c>sleep</c> with three descriptors more than another.
    /// </summary>
    [Fact]
    public void OpenDescriptorsCountEveryOpenSocketAndThreadsEveryRunningThread()
    {
        using var plain = Sleeper(string.Empty);
        using var withThree = Sleeper("exec 3</dev/null 4</dev/null 5</dev/null; ");
        try
        {
            var plainMonitor = new ProcessMonitor(plain.Id);
            var monitor = new ProcessMonitor(withThree.Id);
            Assert.Equal(3, monitor.OpenFileDescriptors() - plainMonitor.OpenFileDescriptors());
            Assert.Equal(1, monitor.Threads());
            Assert.Equal(1, plainMonitor.Threads());
        }
        finally
        {
            plain.Kill();
            withThree.Kill();
            plain.WaitForExit();
            withThree.WaitForExit();
        }

        Assert.Null(new ProcessMonitor(int.MaxValue).OpenFileDescriptors());
        Assert.Null(new ProcessMonitor(int.MaxValue).Threads());
    }

    /// <summary>
    /// A <c>sleep</c> (run by <c>bash</c> after <paramref name="prefix"/>), once it is the process's program. Whatever it
    /// inherited above stderr is closed first: a descriptor another test of the host had open without close-on-exec at
    /// the moment of one fork, and not of the other, made the two differ by one more than the prefix does.
    /// </summary>
    private static Process Sleeper(string prefix)
    {
        const string closeInherited = "for f in /proc/$$/fd/*; do n=${f##*/}; if [ \"$n\" -gt 2 ]; then eval \"exec $n>&-\" 2>/dev/null; fi; done; ";
        var process = Process.Start(new ProcessStartInfo("bash", ["-c", closeInherited + prefix + "exec sleep 30"]) { UseShellExecute = false })!;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (File.ReadAllText($"/proc/{process.Id}/comm").Trim() != "sleep" && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        return process;
    }
}
