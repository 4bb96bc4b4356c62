using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Hosting;
using Teletherapy.MediaRelay;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// Cluster mode (<c>Cluster__Enabled=true</c>): every node hosts an Orleans silo whose membership table is kept in the
/// clinic's PostgreSQL database, session rooms are grains, and the hub reaches rooms through them. Off, nothing of
/// this is started and the hub talks to the local coordinator.
/// </summary>
internal static class ClusterSetup
{
    public static WebApplicationBuilder AddCluster(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(ClusterSettings.SectionName).Get<ClusterSettings>() ?? new ClusterSettings();
        if (!settings.Enabled)
        {
            return builder;
        }

        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("Postgres")))
        {
            throw new InvalidOperationException(
                "Cluster__Enabled=true needs the shared PostgreSQL database (ConnectionStrings__Postgres): the nodes find each other and keep their rooms' state there.");
        }

        if (settings.NodePort is <= 0 or > 65535)
        {
            throw new InvalidOperationException($"Cluster__NodePort must be a TCP port, not {settings.NodePort}.");
        }

        var media = builder.Configuration.GetSection(MediaOptions.SectionName).Get<MediaOptions>() ?? new MediaOptions();
        var address = settings.ResolveAddress(media.AnnouncedAddresses);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ClusterId;
            });
            silo.Configure<SiloOptions>(o => o.SiloName = settings.NodeName ?? $"{Environment.MachineName}-{settings.NodePort}");
            // Nodes talk to each other only; there is no Orleans client outside the nodes, so no gateway.
            silo.ConfigureEndpoints(address, settings.NodePort, gatewayPort: 0, listenOnAnyHostAddress: true);
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                var detection = TimeSpan.FromSeconds(Math.Max(3, settings.FailureDetectionSeconds));
                o.ProbeTimeout = detection / 3;
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
                o.IAmAliveTablePublishTimeout = detection;
                o.TableRefreshTimeout = detection;
            });
            silo.Services.AddDatabaseMembership();
            silo.Services.AddSingleton<RoomPlacementDirector>();
            silo.Services.AddPlacementDirector<RoomPlacement>(sp => sp.GetRequiredService<RoomPlacementDirector>());
        });

        var services = builder.Services;
        services.AddSingleton<ClusterHubLifetimeManager>();
        services.AddSingleton<HubLifetimeManager<SessionHub>>(sp => sp.GetRequiredService<ClusterHubLifetimeManager>());
        services.AddSingleton<NodeInbox>();
        services.AddSingleton<ClusterSessionDoor>();
        services.RemoveAll<ISessionDoor>();
        services.AddSingleton<ISessionDoor>(sp => sp.GetRequiredService<ClusterSessionDoor>());
        services.AddHostedService<ClusterWatch>();
        services.AddSingleton<NodeDrain>();
        services.AddHealthChecks().AddCheck<DrainHealthCheck>("cluster");
        return builder;
    }
}
