using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Teletherapy.Scheduling;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Api;

/// <summary>Composition of the scheduling REST API: options, auth, demo seeding, middleware and routes.</summary>
internal static class SchedulingApi
{
    public const string DefaultPublicBaseUrl = "http://localhost:5080";

    /// <summary>Binds <c>Smtp</c> and <c>Teletherapy:PublicBaseUrl</c>, adds authentication and the demo seeding.</summary>
    public static WebApplicationBuilder AddTeletherapyApi(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        builder.Services.Configure<SmtpOptions>(config.GetSection(SmtpOptions.SectionName));
        builder.Services.Configure<NotificationOptions>(o =>
        {
            o.PublicBaseUrl = PublicBaseUrl(config);
            o.OutboxFileRetention = TimeSpan.FromDays(config.GetValue("Teletherapy:OutboxFileRetentionDays", 7.0));
        });
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase);
        builder.AddTeletherapyAuth();
        builder.Services.AddHostedService<DemoOnStart>();
        return builder;
    }

    /// <summary>Middleware the API needs; call after static files and before the routes.</summary>
    public static WebApplication UseTeletherapyApi(this WebApplication app)
    {
        app.UseMiddleware<BadRequestProblems>();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    public static IEndpointRouteBuilder MapTeletherapyApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");
        AuthEndpoints.Map(api);
        ClinicEndpoints.Map(api);
        AppointmentEndpoints.Map(api);
        JoinEndpoints.Map(api);
        PortalEndpoints.Map(api);
        WaitingCountEndpoints.Map(api);
        AuditEndpoints.Map(api);
        Cluster.DrainEndpoints.Map(api);
        return app;
    }

    /// <summary>
    /// <c>Teletherapy:PublicBaseUrl</c>; else the first URL the server listens on (<c>ASPNETCORE_URLS</c>) with a
    /// wildcard host replaced by <c>localhost</c>; else <c>http://localhost:5080</c>.
    /// </summary>
    internal static string PublicBaseUrl(IConfiguration config)
    {
        if (config["Teletherapy:PublicBaseUrl"] is { Length: > 0 } configured)
        {
            return configured.TrimEnd('/');
        }

        var urls = config["urls"] ?? config["ASPNETCORE_URLS"];
        var first = urls?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null)
        {
            return DefaultPublicBaseUrl;
        }

        foreach (var wildcard in new[] { "://+", "://*", "://0.0.0.0", "://[::]" })
        {
            first = first.Replace(wildcard, "://localhost", StringComparison.Ordinal);
        }

        return Uri.TryCreate(first, UriKind.Absolute, out var uri) && uri.Port != 0 ? first.TrimEnd('/') : DefaultPublicBaseUrl;
    }
}
