using BenchmarkDotNet.Running;

// Runs the relay's hot-path benchmarks; pass BenchmarkDotNet arguments, e.g. --filter '*Srtp*' or --job short.
BenchmarkSwitcher.FromAssembly(typeof(Teletherapy.MediaRelay.Benchmarks.SrtpBenchmarks).Assembly).Run(args);
