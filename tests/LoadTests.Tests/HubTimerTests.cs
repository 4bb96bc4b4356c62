using System.Reflection;
using Microsoft.AspNetCore.SignalR.Client;
using Teletherapy.LoadTests.Targets;

namespace Teletherapy.LoadTests.Tests;

/// <summary>The tool's hub connections wake every 5 s, not every second: the library still has the setting the tool sets by name.</summary>
public sealed class HubTimerTests
{
    [Fact]
    public async Task AHubConnectionsTimerIsSlowedToTheToolsRateAndKeepAlivesStillLeaveWellBeforeTheServerGivesUp()
    {
        await using var hub = new HubConnectionBuilder().WithUrl("http://127.0.0.1:9/hubs/session").Build();
        var property = typeof(HubConnection).GetProperty("TickRate", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        Assert.NotNull(property);
        Assert.Equal(TimeSpan.FromSeconds(1), property.GetValue(hub));

        Assert.True(TeletherapyTarget.SlowHubTimer(hub), "a SignalR client that no longer has HubConnection.TickRate: the tool's timers wake every second again");
        Assert.Equal(TeletherapyTarget.HubTickRate, property.GetValue(hub));

        // A keep-alive is due every KeepAliveInterval and leaves at the next tick; the server drops a client silent for
        // 30 s (HubOptions.ClientTimeoutInterval, not changed by the server).
        Assert.True(hub.KeepAliveInterval + TeletherapyTarget.HubTickRate < TimeSpan.FromSeconds(30));
    }
}
