using Teletherapy.LoadTests;
using Teletherapy.LoadTests.Reporting;
using Teletherapy.LoadTests.Targets;

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(LoadOptions.Usage);
    return 0;
}

if (!LoadOptions.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine("Error: " + error);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

// The whole run is bounded: setup, window and teardown, plus margin for starting the relay.
cancel.CancelAfter(options!.EffectiveSetupTimeout + options.Warmup + options.Duration + TimeSpan.FromMinutes(3));
var output = options.OutputDirectory ?? Path.Combine(Environment.GetEnvironmentVariable("TELETHERAPY_LOAD_ROOT") ?? ".", "load-tests", "out", $"{options.Target.ToString().ToLowerInvariant()}-{options.Sessions}{(options.Participants > 2 ? $"x{options.Participants}" : string.Empty)}");

ILoadTarget target = options.Target == LoadTarget.Janus ? new JanusTarget(options) : new TeletherapyTarget(options);
try
{
    await using (target.ConfigureAwait(false))
    {
        var runner = new LoadRunner(options, target, Console.Error);
        var report = await runner.RunAsync(cancel.Token).ConfigureAwait(false);
        await ReportWriter.WriteAsync(report, output, CancellationToken.None).ConfigureAwait(false);
        Console.WriteLine(ReportWriter.SummaryTable(report));
        Console.WriteLine($"Report: {Path.GetFullPath(Path.Combine(output, "report.json"))} and report.html");
        foreach (var e in report.Errors.Take(5))
        {
            Console.Error.WriteLine("  " + e);
        }

        return report.SessionsUp == 0 ? 1 : 0;
    }
}
catch (JanusMissingException missing)
{
    Console.Error.WriteLine(missing.Message);
    return 3;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("Stopped (Ctrl-C or the run's time limit).");
    return 130;
}
catch (Exception exception) when (exception is InvalidOperationException or IOException or TimeoutException or HttpRequestException or ArgumentException)
{
    Console.Error.WriteLine("Error: " + exception.Message);
    return 1;
}
