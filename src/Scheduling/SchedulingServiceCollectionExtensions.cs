using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling;

public static class SchedulingServiceCollectionExtensions
{
    /// <summary>Registers the database, migrations (applied on start) and the scheduling use cases.</summary>
    public static IServiceCollection AddScheduling(this IServiceCollection services, SchedulingOptions options)
    {
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Database>();
        services.AddSingleton<MigrationRunner>();
        services.AddHostedService<MigrateOnStart>();
        return services;
    }

    private sealed class MigrateOnStart(MigrationRunner runner) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => runner.ApplyAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
