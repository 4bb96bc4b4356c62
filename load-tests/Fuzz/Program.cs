using System.Globalization;
using System.Runtime.InteropServices;
using Teletherapy.MediaRelay.Fuzz;
using Teletherapy.MediaRelay.Fuzz.Targets;

// Runs the relay's parsers on mutated inputs (README "Reliability"); load-tests/fuzz.sh builds and starts this.
//   --target stun,rtp     targets (default: all)        --inputs N       inputs per target (default 1,000,000)
//   --seed S              mutator seed (default 19)     --hang-ms M      hang budget per input (default 100)
//   --watchdog-s S        one input this long ends the run (default 120)
//   --corpus DIR          seed folder (default: corpus/ next to the runner)
//   --hex HEX             replay one input on --target and print what it threw
//   --record-corpus DIR   record seeds from a loopback session of the relay's client and server
// Exit code: 0 clean, 1 findings, 2 bad arguments, 3 the watchdog fired.
CoverageMap? coverage = CoverageMap.TryCreate();
var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal))
    {
        Console.Error.WriteLine($"Unexpected argument '{args[i]}'.");
        return 2;
    }

    arguments[args[i][2..]] = args[i + 1];
}

if (args.Length % 2 != 0)
{
    Console.Error.WriteLine($"'{args[^1]}' needs a value.");
    return 2;
}

var corpus = arguments.TryGetValue("corpus", out string? corpusDirectory) ? new Corpus(corpusDirectory) : Corpus.Default;
if (arguments.TryGetValue("record-corpus", out string? recordTo))
{
    await CorpusRecorder.RecordAsync(recordTo);
    return 0;
}

string[] names = arguments.TryGetValue("target", out string? targetList) && targetList != "all"
    ? targetList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    : FuzzTargets.Names;
if (arguments.TryGetValue("hex", out string? hex))
{
    if (names.Length != 1)
    {
        Console.Error.WriteLine("--hex needs one --target.");
        return 2;
    }

    FuzzTarget replayed = FuzzTargets.Create(names[0], corpus);
    Exception? thrown = null;
    for (int run = 1; run <= 5 && thrown is null; run++)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        TimeSpan cpu = ThreadCpuTime.Current;
        thrown = FuzzRunner.Replay(replayed, Convert.FromHexString(hex));
        Console.WriteLine($"run {run}: {System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds:F2} ms, {(ThreadCpuTime.Current - cpu).TotalMilliseconds:F2} ms of CPU");
    }

    Console.WriteLine(thrown is null ? "No exception." : thrown.ToString());
    return thrown is null ? 0 : 1;
}

var options = new FuzzOptions
{
    Inputs = arguments.TryGetValue("inputs", out string? inputs) ? long.Parse(inputs, CultureInfo.InvariantCulture) : 1_000_000,
    Seed = arguments.TryGetValue("seed", out string? seed) ? int.Parse(seed, CultureInfo.InvariantCulture) : 19,
    HangBudget = TimeSpan.FromMilliseconds(arguments.TryGetValue("hang-ms", out string? hang) ? double.Parse(hang, CultureInfo.InvariantCulture) : 100),
    Watchdog = TimeSpan.FromSeconds(arguments.TryGetValue("watchdog-s", out string? watchdog) ? double.Parse(watchdog, CultureInfo.InvariantCulture) : 120),
};

Console.WriteLine($"Fuzzing {string.Join(", ", names)}: {options.Inputs:N0} inputs each, seed {options.Seed}, hang budget {options.HangBudget.TotalMilliseconds} ms, " +
    (coverage is null ? "seeded mutator (relay assembly not instrumented)" : "coverage-guided (SharpFuzz-instrumented relay assembly)"));
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, " +
    $"{(double)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30):F0} GiB");
Console.WriteLine();
Console.WriteLine($"{"target",-8} {"inputs",12} {"seconds",8} {"cpu s",7} {"inputs/s",10} {"accepted",9} {"exceptions",10} {"hangs",5} {"slowest ms",10} {"corpus",6} {"edges",6}");
var results = new List<FuzzResult>();
foreach (string name in names)
{
    FuzzResult result = FuzzRunner.Run(FuzzTargets.Create(name, corpus), options, coverage, corpus);
    results.Add(result);
    Console.WriteLine(
        $"{result.Target,-8} {result.Inputs,12:N0} {result.Elapsed.TotalSeconds,8:F1} {result.CpuTime.TotalSeconds,7:F1} {result.InputsPerSecond,10:N0} {(double)result.Accepted / result.Inputs,9:P0} " +
        $"{result.Exceptions,10} {result.Hangs,5} {result.Slowest.TotalMilliseconds,10:F2} {result.Corpus,6} {(result.Edges < 0 ? "-" : result.Edges.ToString(CultureInfo.InvariantCulture)),6}");

    // Printed at once, so that a run stopped later still leaves its inputs.
    foreach (FuzzFinding finding in result.Findings)
    {
        Console.WriteLine();
        Console.WriteLine(finding);
        Console.WriteLine();
    }
}

Console.WriteLine();

bool clean = results.All(r => r.Clean);
Console.WriteLine(clean
    ? $"No findings: {results.Sum(r => r.Inputs):N0} inputs, 0 exceptions, 0 hangs."
    : $"FINDINGS: {results.Sum(r => r.Exceptions)} exceptions, {results.Sum(r => r.Hangs)} hangs.");
coverage?.Dispose();
return clean ? 0 : 1;
