namespace Teletherapy.LoadTests.Targets;

/// <summary>A relay the load goes through, with the signaling that sets a session up on it.</summary>
internal interface ILoadTarget : IAsyncDisposable
{
    /// <summary>"teletherapy" or "janus".</summary>
    string Name { get; }

    /// <summary>The relay process when the tool started it (CPU and memory are measured from /proc); null otherwise.</summary>
    ProcessMonitor? Relay { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Sets session <paramref name="session"/> up: every participant joins, publishes, and subscribes to the others.
    /// Returns when each receives media; records the join and admit timings on the session.
    /// </summary>
    Task SetUpSessionAsync(LoadSession session, Pacer pacer, CancellationToken cancellationToken);

    /// <summary>Every participant leaves.</summary>
    Task TearDownSessionAsync(LoadSession session, CancellationToken cancellationToken);

    /// <summary>
    /// The session ends as it does for people (churn): each contact leaves, then the therapist ends the session.
    /// Throws when the relay refuses the end.
    /// </summary>
    Task EndSessionAsync(LoadSession session, CancellationToken cancellationToken);

    /// <summary>
    /// Each node's own metrics now (our server: its <c>/metrics</c>, one reading per node in the order of the servers);
    /// empty when the relay exposes none.
    /// </summary>
    Task<IReadOnlyList<NodeReading>> ReadNodesAsync(CancellationToken cancellationToken);
}
