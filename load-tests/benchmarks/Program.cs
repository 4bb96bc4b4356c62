using BenchmarkDotNet.Running;
using Teletherapy.MediaRelay.Benchmarks;

// Runs the relay's hot-path benchmarks; pass BenchmarkDotNet arguments, e.g. --filter '*Srtp*' or --job short.
// --after-pause measures the relay's per-packet work after a sleep instead (PauseMeasurement).
if (args.Contains("--after-pause"))
{
    return PauseMeasurement.Run(args, Console.Out);
}

var summaries = BenchmarkSwitcher.FromAssembly(typeof(SrtpBenchmarks).Assembly).Run(args);
return summaries.Any(summary => summary.HasCriticalValidationErrors) ? 1 : 0;
