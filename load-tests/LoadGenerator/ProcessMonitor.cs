using System.Diagnostics;
using System.Globalization;

namespace Teletherapy.LoadTests;

/// <summary>CPU time (utime + stime of /proc/PID/stat), peak RSS (VmHWM of /proc/PID/status) and the threads of one process.</summary>
internal sealed class ProcessMonitor(int pid)
{
    private static readonly Lazy<double> ClockTicks = new(ReadClockTicks);

    public int Pid { get; } = pid;

    /// <summary>
    /// User and system CPU seconds so far (utime and stime: system is the kernel's work on the process's behalf),
    /// children not included, from one read; null when the process is gone.
    /// </summary>
    public (double User, double System)? CpuSeconds()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{Pid}/stat");

            // The command name in field 2 may hold spaces: fields are counted after its closing parenthesis.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (utime / ClockTicks.Value, stime / ClockTicks.Value);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Peak resident set size in bytes (VmHWM); null when the process is gone.</summary>
    public long? PeakRssBytes() => ReadStatusNumber("VmHWM:") * 1024;

    public long? RssBytes() => ReadStatusNumber("VmRSS:") * 1024;

    /// <summary>The process's threads (<c>Threads:</c> of /proc/PID/status); null when the process is gone.</summary>
    public int? Threads() => (int?)ReadStatusNumber("Threads:");

    /// <summary>
    /// Open file descriptors (entries of /proc/PID/fdinfo, one per descriptor); null when the process is gone or not
    /// readable. Not /proc/PID/fd: its entries are symbolic links, and the runtime's directory listing reads the target
    /// of each to learn whether it is a folder, once a second for hundreds of sockets.
    /// </summary>
    public int? OpenFileDescriptors()
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{Pid}/fdinfo").Length;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Every thread of the process now (<see cref="ThreadSample"/>); null when the process is gone. A thread that ends while it is read is left out.</summary>
    public IReadOnlyList<ThreadSample>? ThreadSamples()
    {
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories($"/proc/{Pid}/task");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var samples = new List<ThreadSample>();
        foreach (var task in tasks)
        {
            if (!int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                continue;
            }

            try
            {
                var name = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                var schedstat = File.ReadAllText(Path.Combine(task, "schedstat"));
                var run = long.Parse(schedstat.AsSpan(0, schedstat.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
                long voluntary = 0, involuntary = 0;
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    voluntary = StatusNumber(line, "voluntary_ctxt_switches:") ?? voluntary;
                    involuntary = StatusNumber(line, "nonvoluntary_ctxt_switches:") ?? involuntary;
                }

                samples.Add(new ThreadSample(id, name, run, voluntary, involuntary));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
            {
                // Ended between the listing and the read, or a kernel without scheduler statistics.
            }
        }

        return samples;
    }

    /// <summary>The machine's 1-minute load average; null off Linux.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.TryParse(text.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private long? ReadStatusNumber(string key)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (StatusNumber(line, key) is { } value)
                {
                    return value;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>The number on a /proc status line that starts with <paramref name="key"/> (e.g. <c>VmHWM:   1234 kB</c>); null on any other line.</summary>
    private static long? StatusNumber(string line, string key) =>
        line.StartsWith(key, StringComparison.Ordinal)
            ? long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture)
            : null;

    private static double ReadClockTicks()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false });
            var text = process!.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit(2000);
            return double.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100; // USER_HZ on Linux
        }
    }
}
