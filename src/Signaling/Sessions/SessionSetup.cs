using Teletherapy.Scheduling.Appointments;

namespace Teletherapy.Signaling.Sessions;

internal static class SessionSetup
{
    public static IServiceCollection AddSessions(this IServiceCollection services)
    {
        services.AddSignalR(o =>
        {
            o.MaximumReceiveMessageSize = 256 * 1024; // SDP with simulcast and many candidates
            o.EnableDetailedErrors = false;
        });
        services.AddSingleton<SessionCoordinator>();
        services.AddSingleton<Auth.StaffConnections>();
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
