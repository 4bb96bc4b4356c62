using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Teletherapy.MediaRelay.Transport;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Signaling.Hosting;

internal sealed class DatabaseHealthCheck(Database database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await database.IsReachableAsync(cancellationToken).ConfigureAwait(false)
            ? HealthCheckResult.Healthy(database.Dialect.ToString())
            : HealthCheckResult.Unhealthy($"{database.Dialect} is not reachable");
}

internal sealed class MediaSocketsHealthCheck(MediaSockets sockets) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(sockets.IsBound
            ? HealthCheckResult.Healthy($"udp {sockets.UdpPort}, tcp {sockets.TcpPort}")
            : HealthCheckResult.Unhealthy("media sockets are not bound"));
}

/// <summary>Writes the health report as JSON: overall status and each check's status and description.</summary>
internal static class HealthResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
