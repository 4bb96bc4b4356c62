namespace Teletherapy.Signaling.Cluster;

internal static class MembershipStub
{
    public static IServiceCollection AddDatabaseMembership(this IServiceCollection services) => services;
}
