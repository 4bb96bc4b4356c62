using Orleans;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// Registration of the membership table in the installation's database. A silo needs nothing else from us: the client
/// inside the same process reaches the cluster through its silo, so no gateway list provider is registered.
/// </summary>
internal static class DatabaseMembership
{
    /// <summary>
    /// Makes <see cref="DatabaseMembershipTable"/> the cluster's <see cref="IMembershipTable"/>; call it on the silo's
    /// services instead of one of the runtime's clustering providers. Needs Scheduling registered (the store and the
    /// migrations that create its tables).
    /// </summary>
    public static IServiceCollection AddDatabaseMembership(this IServiceCollection services)
    {
        services.AddSingleton<IMembershipTable, DatabaseMembershipTable>();
        return services;
    }
}
