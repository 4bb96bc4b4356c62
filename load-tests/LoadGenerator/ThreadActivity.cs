namespace Teletherapy.LoadTests;

/// <summary>
/// One thread's scheduler counters (/proc/PID/task/TID): the time it has run in nanoseconds (<c>schedstat</c>, counted
/// by the scheduler, not sampled on the clock tick as utime and stime are), and how often it gave up its CPU itself
/// (<c>voluntary_ctxt_switches</c>: it slept or waited) or had it taken (<c>nonvoluntary_ctxt_switches</c>: preempted).
/// </summary>
internal readonly record struct ThreadSample(int Id, string Name, long RunNanoseconds, long Voluntary, long Involuntary);

/// <summary>
/// What a process's threads did between two reads: the busiest thread by run time, its share, and the switches of all
/// threads present at both reads (threads that came or went meanwhile are left out).
/// </summary>
internal sealed record ThreadActivity(string Busiest, double BusiestCpuSeconds, double CpuSeconds, long WakeUps, long Preemptions)
{
    /// <summary>The busiest thread's part of the threads' run time, 0 to 1.</summary>
    public double BusiestShare => CpuSeconds > 0 ? BusiestCpuSeconds / CpuSeconds : 0;

    /// <summary>Null when either read is missing or no thread was present at both.</summary>
    public static ThreadActivity? Between(IReadOnlyList<ThreadSample>? before, IReadOnlyList<ThreadSample>? after)
    {
        if (before is null || after is null)
        {
            return null;
        }

        var earlier = before.ToDictionary(s => s.Id);
        var busiest = (Name: string.Empty, Nanoseconds: -1L);
        long total = 0, wakeUps = 0, preemptions = 0;
        foreach (var sample in after)
        {
            if (!earlier.TryGetValue(sample.Id, out var start))
            {
                continue;
            }

            var run = sample.RunNanoseconds - start.RunNanoseconds;
            total += run;
            wakeUps += sample.Voluntary - start.Voluntary;
            preemptions += sample.Involuntary - start.Involuntary;
            if (run > busiest.Nanoseconds)
            {
                busiest = (sample.Name, run);
            }
        }

        // A thread present at both reads ran 0 ns or more, so the start of -1 is left only when none was.
        return busiest.Nanoseconds >= 0 ? new ThreadActivity(busiest.Name, busiest.Nanoseconds / 1e9, total / 1e9, wakeUps, preemptions) : null;
    }
}
