namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>Each test gets its own server (and so its own clock, database and media sockets).</summary>
public abstract class HubTestBase : IAsyncLifetime
{
    protected HubServer Server { get; } = new();

    public Task InitializeAsync()
    {
        Server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    protected Task<SessionScenario> ScenarioAsync(TimeSpan? startIn = null) => SessionScenario.CreateAsync(Server, startIn);
}
