namespace Teletherapy.LoadTests.Targets;

internal sealed class JanusMissingException(string message) : Exception(message);

internal sealed class JanusTarget(LoadOptions options) : ILoadTarget
{
    public string Name => "janus";

    public ProcessMonitor? Relay => null;

    public Task StartAsync(CancellationToken cancellationToken) => throw new JanusMissingException(options.ToString());

    public Task SetUpSessionAsync(LoadSession session, Pacer pacer, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task TearDownSessionAsync(LoadSession session, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<long?> ReadForwardedCounterAsync(CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
