using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Signaling.Abuse;

namespace Teletherapy.Signaling.Sessions;

internal static class SessionSetup
{
    public static IServiceCollection AddSessions(this IServiceCollection services)
    {
        services.AddSignalR(o =>
        {
            o.EnableDetailedErrors = false;
            o.AddFilter<HubLimits>();
        });
        // An SDP offer with simulcast is about 10 KB; the limit (64 KiB by default) leaves room and no more.
        services.AddOptions<HubOptions>().Configure<IOptions<ThrottlingOptions>>((o, limits) => o.MaximumReceiveMessageSize = limits.Value.HubMessageBytes);
        services.AddSingleton<SessionCoordinator>();
        services.TryAddSingleton<ISessionDoor>(sp => sp.GetRequiredService<SessionCoordinator>());
        services.AddSingleton<Auth.StaffConnections>();
        services.AddSingleton<Auth.StaffConnectionSweep>();
        services.AddHostedService(sp => sp.GetRequiredService<Auth.StaffConnectionSweep>());
        services.AddHostedService(sp => sp.GetRequiredService<SessionCoordinator>());
        services.AddSingleton<IAppointmentChangeListener>(sp => sp.GetRequiredService<SessionCoordinator>());
        return services;
    }

    public static IEndpointRouteBuilder MapSessions(this IEndpointRouteBuilder app)
    {
        app.MapHub<SessionHub>("/hubs/session");
        return app;
    }
}
