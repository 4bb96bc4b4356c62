using Microsoft.Extensions.Hosting;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;

namespace Teletherapy.Scheduling.Data;

/// <summary>
/// Writes what was kept in memory during a database outage — session ends, then audit events — soon after it ends,
/// even when nothing else happens.
/// </summary>
internal sealed class OutageBacklog(EndSession ends, AuditLog audit, TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await ends.WriteKeptAsync(stoppingToken).ConfigureAwait(false);
                    await audit.WriteKeptAsync(stoppingToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // the next tick tries again
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    _ = ex;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
