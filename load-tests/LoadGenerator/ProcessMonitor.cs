using System.Diagnostics;
using System.Globalization;

namespace Teletherapy.LoadTests;

/// <summary>CPU time (utime + stime of /proc/PID/stat) and peak RSS (VmHWM of /proc/PID/status) of one process.</summary>
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
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

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
