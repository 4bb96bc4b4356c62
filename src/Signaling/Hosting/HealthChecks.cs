using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Teletherapy.MediaRelay.Transport;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Outbox;

namespace Teletherapy.Signaling.Hosting;

internal sealed class DatabaseHealthCheck(Database database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await database.IsReachableAsync(cancellationToken).ConfigureAwait(false)
            ? HealthCheckResult.Healthy(database.Dialect.ToString())
            : HealthCheckResult.Unhealthy($"{database.Dialect} is not reachable");
}

/// <summary>
/// Degraded (still 200: sessions work) while the outbox holds a channel because its transport is unavailable — the SMTP
/// server is down, the outbox folder's disk is full — naming the channel, the cause and since when. Nothing is lost
/// meanwhile: the messages wait in the database and go out in order once the transport is back.
/// </summary>
internal sealed class OutboxHealthCheck(OutboxStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var held = status.Unavailable;
        return Task.FromResult(held.Count == 0
            ? HealthCheckResult.Healthy("delivering")
            : HealthCheckResult.Degraded(string.Join("; ", held.Select(h =>
                $"{h.Channel} delivery unavailable ({h.Cause}) since {h.Since.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}; messages wait and go out once it is back"))));
    }
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
