namespace Teletherapy.LoadTests.Targets;

/// <summary>A relay the load goes through, with the signaling that sets a 1:1 session up on it.</summary>
internal interface ILoadTarget : IAsyncDisposable
{
    /// <summary>"teletherapy" or "janus".</summary>
    string Name { get; }

    /// <summary>The relay process when the tool started it (CPU and memory are measured from /proc); null otherwise.</summary>
    ProcessMonitor? Relay { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Sets session <paramref name="session"/> up: both participants join, publish, and subscribe to each other. Returns
    /// when both receive media; records the join and admit timings on the session.
    /// </summary>
    Task SetUpSessionAsync(LoadSession session, Pacer pacer, CancellationToken cancellationToken);

    /// <summary>Both participants leave.</summary>
    Task TearDownSessionAsync(LoadSession session, CancellationToken cancellationToken);

    /// <summary>The relay's own count of forwarded packets, when it exposes one.</summary>
    Task<long?> ReadForwardedCounterAsync(CancellationToken cancellationToken);
}
