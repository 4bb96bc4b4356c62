using System.Diagnostics;
using Teletherapy.LoadTests.Targets;

namespace Teletherapy.LoadTests.Tests;

/// <summary>
/// The relay's CPU in the measured window is forwarding's: the tool's own reads of the relay's metrics (the first of
/// which compiles the whole metrics path in the relay) fall outside it.
/// </summary>
public sealed class MeasuredWindowTests
{
    [Fact]
    public async Task ReadingTheRelaysMetricsIsNotChargedToTheWindow()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var cancellationToken = timeout.Token;
        await using var target = new CostlyMetricsTarget();

        // What one read costs the stand-in relay, measured here so the bound below does not depend on the machine.
        var before = target.Relay.CpuSeconds()!.Value;
        await target.ReadNodesAsync(cancellationToken);
        var after = target.Relay.CpuSeconds()!.Value;
        var readCost = after.User + after.System - before.User - before.System;
        Assert.True(readCost >= 0.1, $"a read cost the stand-in only {readCost:0.000} s");

        var cache = Path.Combine(Path.GetTempPath(), "teletherapy-load-media");
        Assert.True(LoadOptions.TryParse(
            ["--sessions", "1", "--duration", "1s", "--warmup", "1s", "--media-cache", cache, "--quiet"],
            out var options, out var error), error);
        var reads = target.Reads;
        var report = await new LoadRunner(options!, target, TextWriter.Null).RunAsync(cancellationToken);

        // One read in the warm-up and one at each end of the window, none of them inside it.
        Assert.True(target.Reads - reads >= 3, $"{target.Reads - reads} reads");
        Assert.NotNull(report.RelayCpuSeconds);
        Assert.True(report.RelayCpuSeconds < readCost / 2, $"the window counted {report.RelayCpuSeconds:0.000} s; a read costs {readCost:0.000} s");

        // The stand-in's one thread is the busiest there is; it sleeps in the window (reads come outside it).
        Assert.Equal("sh", report.RelayBusiestThread);
        Assert.NotNull(report.RelayWakeUpsPerSecond);
        Assert.NotNull(report.RelayPreemptionsPerSecond);
    }

    /// <summary>
    /// A relay whose metrics cost CPU to read: a shell that counts to a million for each line it is sent, and is idle
    /// otherwise. Sessions "set up" at once and carry no media.
    /// </summary>
    private sealed class CostlyMetricsTarget : ILoadTarget
    {
        private readonly Process _relay;
        private int _reads;

        public CostlyMetricsTarget()
        {
            var start = new ProcessStartInfo("sh")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("while read line; do i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done; echo read; done");
            _relay = Process.Start(start)!;
            Relay = new ProcessMonitor(_relay.Id);
        }

        public string Name => "teletherapy";

        public ProcessMonitor Relay { get; }

        ProcessMonitor? ILoadTarget.Relay => Relay;

        public int Reads => Volatile.Read(ref _reads);

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task SetUpSessionAsync(LoadSession session, Pacer pacer, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task TearDownSessionAsync(LoadSession session, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task EndSessionAsync(LoadSession session, CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task<IReadOnlyList<NodeReading>> ReadNodesAsync(CancellationToken cancellationToken)
        {
            await _relay.StandardInput.WriteLineAsync("metrics".AsMemory(), cancellationToken);
            await _relay.StandardInput.FlushAsync(cancellationToken);
            Assert.Equal("read", await _relay.StandardOutput.ReadLineAsync(cancellationToken));
            Interlocked.Increment(ref _reads);
            return [];
        }

        public ValueTask DisposeAsync()
        {
            _relay.Kill();
            _relay.WaitForExit();
            _relay.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
