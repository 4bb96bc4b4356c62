using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Teletherapy.MediaRelay.Fuzz;

/// <summary>How many inputs, from which seed, and when an input counts as a hang.</summary>
internal sealed record FuzzOptions
{
    public long Inputs { get; init; } = 1_000_000;

    public int Seed { get; init; } = 19;

    /// <summary>An input slower than this by the clock is run three more times; using more CPU than this on each, it is a hang.</summary>
    public TimeSpan HangBudget { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>One input still running after this is stuck: the watchdog reports it and ends the process.</summary>
    public TimeSpan Watchdog { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Findings kept with their input (all are counted).</summary>
    public int MaxFindingsKept { get; init; } = 20;
}

/// <summary>An exception that left a target, a broken invariant, or an input over the hang budget.</summary>
internal sealed record FuzzFinding(string Target, string Kind, long Index, int Seed, string Message, byte[] Input)
{
    public override string ToString() =>
        $"{Target} input #{Index} (seed {Seed}): {Kind}: {Message}\n  input ({Input.Length} bytes): {Convert.ToHexString(Input)}\n" +
        $"  replay: load-tests/fuzz.sh --target {Target} --hex {Convert.ToHexString(Input)}";
}

internal sealed class FuzzResult
{
    public required string Target { get; init; }

    public long Inputs { get; set; }

    public long Accepted { get; set; }

    public TimeSpan Elapsed { get; set; }

    /// <summary>CPU time of the whole process (GC included) while the target ran.</summary>
    public TimeSpan CpuTime { get; set; }

    public long Exceptions { get; set; }

    public long Hangs { get; set; }

    public List<FuzzFinding> Findings { get; } = [];

    public TimeSpan Slowest { get; set; }

    public int SlowestLength { get; set; }

    public int Corpus { get; set; }

    /// <summary>Branch pairs reached, or -1 without instrumentation.</summary>
    public int Edges { get; set; } = -1;

    public double InputsPerSecond => Inputs / Math.Max(Elapsed.TotalSeconds, 1e-9);

    public bool Clean => Exceptions == 0 && Hangs == 0;
}

/// <summary>
/// Runs one target: seeds first, then mutated inputs, each timed. Nothing thrown by the target is swallowed silently:
/// every exception is counted and kept with its input as hex. A watchdog thread ends the process if one input runs for
/// longer than <see cref="FuzzOptions.Watchdog"/>, printing that input, since a loop that never ends cannot be stopped
/// from inside.
/// </summary>
internal static class FuzzRunner
{
    public static FuzzResult Run(FuzzTarget target, FuzzOptions options, CoverageMap? coverage = null, Corpus? corpus = null)
    {
        byte[][] seeds = [.. target.Seeds(corpus ?? Corpus.Default)];
        var mutator = new PacketMutator(options.Seed, seeds, target.LengthOffsets);
        var result = new FuzzResult { Target = target.Name };
        long budget = (long)(options.HangBudget.TotalSeconds * Stopwatch.Frequency);
        long slowest = 0;
        coverage?.ResetVirgin();
        using var watchdog = new Watchdog(target.Name, options.Seed, options.Watchdog);

        // Warm-up: the seeds once, untimed, so that compiling the code they reach is not taken for a slow input.
        foreach (byte[] seed in seeds)
        {
            RunOne(target, seed, out _, out _);
        }

        long started = Stopwatch.GetTimestamp();
        TimeSpan cpuStarted = ThreadCpuTime.Process;
        for (long index = 0; index < options.Inputs; index++)
        {
            byte[] input = index < seeds.Length ? seeds[index] : target.Next(mutator);
            coverage?.Clear();
            watchdog.Enter(index, input);
            long ticks = RunOne(target, input, out Exception? thrown, out bool accepted);
            watchdog.Leave();
            result.Accepted += accepted ? 1 : 0;
            if (thrown is not null)
            {
                result.Exceptions++;
                Keep(result, options, new FuzzFinding(target.Name, thrown is FuzzInvariantException ? "invariant" : "exception", index, options.Seed, thrown.ToString(), input));
            }
            else if (coverage is not null && coverage.HasNewCoverage() && index >= seeds.Length)
            {
                // Seeds only mark what they reach; a mutated input that reached more is mutated further.
                mutator.Add(input);
            }

            if (ticks > budget)
            {
                // Over the budget by the clock: a hang only if the thread's own CPU time says so too.
                ticks = CpuTicks(target, input, watchdog, index);
                if (ticks > budget)
                {
                    result.Hangs++;
                    Keep(result, options, new FuzzFinding(target.Name, "hang", index, options.Seed, $"{ticks * 1000.0 / Stopwatch.Frequency:F1} ms of CPU on each of three more runs", input));
                }
            }

            if (ticks > slowest)
            {
                slowest = ticks;
                result.SlowestLength = input.Length;
            }
        }

        result.Elapsed = Stopwatch.GetElapsedTime(started);
        result.CpuTime = ThreadCpuTime.Process - cpuStarted;
        result.Inputs = options.Inputs;
        result.Slowest = TimeSpan.FromSeconds((double)slowest / Stopwatch.Frequency);
        result.Corpus = mutator.CorpusCount;
        result.Edges = coverage?.Edges ?? -1;
        return result;
    }

    /// <summary>Runs a single input (a replay from its hex); the exception, if any, is returned.</summary>
    public static Exception? Replay(FuzzTarget target, byte[] input)
    {
        RunOne(target, input, out Exception? thrown, out _);
        return thrown;
    }

    private static long RunOne(FuzzTarget target, byte[] input, out Exception? thrown, out bool accepted)
    {
        thrown = null;
        accepted = false;
        long start = Stopwatch.GetTimestamp();
        try
        {
            accepted = target.Run(input);
        }
        catch (Exception exception)
        {
            // The point of the harness: whatever escaped the relay's parser is recorded as a finding, never ignored.
            thrown = exception;
        }

        return Stopwatch.GetTimestamp() - start;
    }

    /// <summary>
    /// The least CPU time of three more runs, in <see cref="Stopwatch"/> ticks. A first run slow by the clock may have
    /// waited for a core (the runner is niced, the machine shared) or for a GC; a hang is slow on the CPU every time.
    /// </summary>
    private static long CpuTicks(FuzzTarget target, byte[] input, Watchdog watchdog, long index)
    {
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            watchdog.Enter(index, input);
            TimeSpan before = ThreadCpuTime.Current;
            RunOne(target, input, out _, out _);
            TimeSpan spent = ThreadCpuTime.Current - before;
            watchdog.Leave();
            least = Math.Min(least, (long)(spent.TotalSeconds * Stopwatch.Frequency));
        }

        return least;
    }

    private static void Keep(FuzzResult result, FuzzOptions options, FuzzFinding finding)
    {
        if (result.Findings.Count < options.MaxFindingsKept)
        {
            result.Findings.Add(finding);
        }
    }

    private sealed class Watchdog : IDisposable
    {
        private readonly string _target;
        private readonly int _seed;
        private readonly long _limit;
        private readonly Thread _thread;
        private readonly ManualResetEventSlim _stop = new();
        private long _enteredAt;
        private long _index;
        private byte[]? _input;

        public Watchdog(string target, int seed, TimeSpan limit)
        {
            _target = target;
            _seed = seed;
            _limit = (long)(limit.TotalSeconds * Stopwatch.Frequency);
            _thread = new Thread(Watch) { IsBackground = true, Name = "fuzz watchdog" };
            _thread.Start();
        }

        public void Enter(long index, byte[] input)
        {
            _index = index;
            Volatile.Write(ref _input, input);
            Volatile.Write(ref _enteredAt, Stopwatch.GetTimestamp());
        }

        public void Leave() => Volatile.Write(ref _enteredAt, 0);

        public void Dispose()
        {
            _stop.Set();
            _thread.Join();
            _stop.Dispose();
        }

        private void Watch()
        {
            while (!_stop.Wait(250))
            {
                long entered = Volatile.Read(ref _enteredAt);
                if (entered != 0 && Stopwatch.GetTimestamp() - entered > _limit)
                {
                    var stuck = new FuzzFinding(_target, "hang", _index, _seed, "still running when the watchdog fired", Volatile.Read(ref _input) ?? []);
                    Console.Error.WriteLine($"FUZZ WATCHDOG: {stuck}");
                    Console.Error.Flush();
                    Environment.Exit(3);
                }
            }
        }
    }
}

/// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID), else of the process.</summary>
internal static partial class ThreadCpuTime
{
    private const int ClockThreadCpuTime = 3;

    public static TimeSpan Process => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    public static TimeSpan Current
    {
        get
        {
            if (OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTime, out TimeSpec now) == 0)
            {
                return TimeSpan.FromTicks((now.Seconds * TimeSpan.TicksPerSecond) + (now.Nanoseconds / 100));
            }

            return Process;
        }
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
