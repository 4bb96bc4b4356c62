namespace Teletherapy.LoadTests.Tests;

/// <summary>The relay's threads in the window: the busiest by the scheduler's run time, and how often they slept or were preempted.</summary>
public sealed class ThreadActivityTests
{
    [Fact]
    public void TheBusiestThreadIsTheOneThatRanLongestInTheWindowNotTheOneWithTheMostTimeInAll()
    {
        ThreadSample[] before =
        [
            new(1, "main", RunNanoseconds: 9_000_000_000, Voluntary: 100, Involuntary: 10),
            new(2, "media-udp-recei", RunNanoseconds: 1_000_000_000, Voluntary: 50, Involuntary: 5),
            new(3, "gone", RunNanoseconds: 0, Voluntary: 0, Involuntary: 0),
        ];
        ThreadSample[] after =
        [
            new(1, "main", RunNanoseconds: 9_100_000_000, Voluntary: 110, Involuntary: 12),
            new(2, "media-udp-recei", RunNanoseconds: 1_900_000_000, Voluntary: 250, Involuntary: 905),

            // Started in the window: its time and switches are not counted (there is no start to count them from).
            new(4, "new", RunNanoseconds: 5_000_000_000, Voluntary: 1_000, Involuntary: 1_000),
        ];

        var activity = ThreadActivity.Between(before, after);

        Assert.NotNull(activity);
        Assert.Equal("media-udp-recei", activity.Busiest);
        Assert.Equal(0.9, activity.BusiestCpuSeconds, 9);
        Assert.Equal(1.0, activity.CpuSeconds, 9);
        Assert.Equal(0.9, activity.BusiestShare, 9);
        Assert.Equal(210, activity.WakeUps);
        Assert.Equal(902, activity.Preemptions);
    }

    [Fact]
    public void NothingToCompareIsNoActivity()
    {
        ThreadSample[] one = [new(1, "a", 1, 1, 1)];
        ThreadSample[] other = [new(2, "b", 2, 2, 2)];
        Assert.Null(ThreadActivity.Between(null, one));
        Assert.Null(ThreadActivity.Between(one, null));
        Assert.Null(ThreadActivity.Between(one, other));
        Assert.Equal(0, ThreadActivity.Between(one, one)!.BusiestShare);
    }

    [Fact]
    public void ReadingAProcessSeesAThreadRunAndSleep()
    {
        const string name = "activity-probe";
        using var started = new ManualResetEventSlim();
        using var proceed = new ManualResetEventSlim();
        using var finished = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var probe = new Thread(() =>
        {
            started.Set();
            proceed.Wait();
            // 200 ms on the CPU, by the thread's own clock: on a busy machine that takes longer than 200 ms.
            var spinStart = ThreadCpuNanoseconds();
            while (ThreadCpuNanoseconds() - spinStart < 200_000_000)
            {
                Thread.SpinWait(1000);
            }

            for (var i = 0; i < 20; i++)
            {
                Thread.Sleep(1);
            }

            finished.Set();
            release.Wait();
        })
        { IsBackground = true, Name = name };
        probe.Start();
        try
        {
            Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
            var before = new ProcessMonitor(Environment.ProcessId).ThreadSamples();
            proceed.Set();
            Assert.True(finished.Wait(TimeSpan.FromSeconds(30)));
            var after = new ProcessMonitor(Environment.ProcessId).ThreadSamples();

            Assert.NotNull(before);
            Assert.NotNull(after);
            var start = Assert.Single(before, s => s.Name == name);
            var end = Assert.Single(after, s => s.Id == start.Id);
            Assert.Equal(name, end.Name);
            Assert.True(end.RunNanoseconds - start.RunNanoseconds >= 200_000_000, $"ran {(end.RunNanoseconds - start.RunNanoseconds) / 1e6:0} ms");
            Assert.True(end.Voluntary - start.Voluntary >= 20, $"slept {end.Voluntary - start.Voluntary} times");
            Assert.Null(new ProcessMonitor(-1).ThreadSamples());
        }
        finally
        {
            release.Set();
            probe.Join();
        }
    }

    /// <summary>The calling thread's time on the CPU so far (its own CLOCK_THREAD_CPUTIME_ID, not /proc).</summary>
    private static long ThreadCpuNanoseconds()
    {
        var time = default(Timespec);
        return ClockGetTime(3, ref time) == 0 ? (time.Seconds * 1_000_000_000) + time.Nanoseconds : throw new InvalidOperationException("clock_gettime failed");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, ref Timespec time);

    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
