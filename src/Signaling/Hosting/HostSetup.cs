using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay;
using Teletherapy.Scheduling;
using Teletherapy.Signaling.Check;
using Teletherapy.Signaling.Cluster;
using Teletherapy.Signaling.Sessions;
using Teletherapy.Signaling.Abuse;
using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Hosting;

/// <summary>Composition of the host: configuration, modules, health, metrics, OpenAPI and the web client.</summary>
internal static class HostSetup
{
    /// <summary>Page routes served by the web client's index.html.</summary>
    private static readonly string[] PageRoutes =
    [
        "/check", "/schedule/calendar", "/schedule/appointments/new", "/schedule/appointments/{id}", "/schedule/appointments/{id}/edit",
        "/patients", "/patients/new", "/patients/{id}", "/settings/clinic", "/settings/staff",
        "/session/{id}", "/join/{token}", "/portal", "/portal/{**rest}",
    ];

    public static WebApplicationBuilder AddTeletherapy(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        // Teletherapy:DataPath (tests, appsettings) wins over TELETHERAPY_DATA (run.sh); default ./data.
        var dataPath = config["Teletherapy:DataPath"] is { Length: > 0 } fromConfig
            ? fromConfig
            : Environment.GetEnvironmentVariable("TELETHERAPY_DATA") is { Length: > 0 } fromEnv ? fromEnv : "data";
        var demoVariable = Environment.GetEnvironmentVariable("TELETHERAPY_DEMO");
        if (demoVariable is { Length: > 0 })
        {
            config["Teletherapy:Demo"] = demoVariable is "0" or "false" ? "false" : "true";
        }

        // /metrics: ours (teletherapy_*), the process's (process_*, dotnet_*: CPU, memory, collections) and the HTTP
        // metrics; not every .NET EventCounter and Meter translated. Those were named by nothing here, cost a poller
        // thread, a callback on every measurement of every meter (Kestrel, SignalR, System.Net, the runtime) and several
        // MiB of code and state from the first scrape on. Process-wide, taken before the first scrape (later: no effect).
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressProcessMetrics = false,
            SuppressDebugMetrics = true,
            SuppressEventCounters = true,
            SuppressMeters = true,
        });
        builder.Services.AddOptions<TeletherapyOptions>().BindConfiguration(TeletherapyOptions.SectionName).ValidateOnStart();
        builder.Services.Configure<HostOptions>(o =>
            o.ShutdownTimeout = TimeSpan.FromSeconds(config.GetValue("Teletherapy:ShutdownTimeoutSeconds", 15)));

        builder.Services.AddOptions<TurnOptions>().BindConfiguration(TurnOptions.SectionName).PostConfigure(TurnOptions.LoadSecretFile).ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddMediaRelay();
        builder.Services.AddScheduling(new SchedulingOptions
        {
            DataPath = Path.GetFullPath(dataPath),
            PostgresConnectionString = config.GetConnectionString("Postgres"),
        });

        builder.AddWebSecurity();
        builder.AddKeyStorage();
        builder.Services.AddExceptionHandler<DatabaseOutage.Handler>();
        builder.Services.AddProblemDetails();
        builder.Services.AddConnectionCheck();
        builder.Services.AddThrottling();
        builder.Services.AddSingleton<PortalLinkQueue>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PortalLinkQueue>());
        builder.Services.AddSessions();
        builder.AddCluster();
        builder.Services.AddOpenApi("v1");
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database")
            .AddCheck<MediaSocketsHealthCheck>("media-sockets")
            .AddCheck<OutboxHealthCheck>("outbox");
        builder.AddTeletherapyApi();
        return builder;
    }

    /// <summary>The web client's file names do not change between versions: browsers revalidate (ETag) rather than guess.</summary>
    private static readonly StaticFileOptions RevalidatedFiles = new()
    {
        OnPrepareResponse = static context => context.Context.Response.Headers.CacheControl = "no-cache",
    };

    public static WebApplication UseTeletherapy(this WebApplication app)
    {
        BuildInfo.Publish();
        HeapMetrics.Publish();
        app.UseWebSecurity();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseDefaultFiles();
        app.UseStaticFiles(RevalidatedFiles);
        app.UseHttpMetrics();
        AddressLimits.Use(app);
        app.UseTeletherapyApi();
        app.UseBodyLimits();

        app.MapHealthChecks("/healthz", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
        {
            ResponseWriter = HealthResponse.WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        app.MapMetrics("/metrics");
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapIceServers();
        app.MapCspReports();
        app.MapConnectionCheck();
        app.MapSessions();
        app.MapTeletherapyApi();

        foreach (var route in PageRoutes)
        {
            app.MapFallbackToFile(route, "index.html", RevalidatedFiles);
        }

        return app;
    }
}
