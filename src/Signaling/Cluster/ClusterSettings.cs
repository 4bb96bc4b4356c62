using System.Net;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// <c>Cluster__*</c>: several nodes of the same binary on one PostgreSQL database. Off by default: one node needs none
/// of it. Every node of a cluster is configured alike, except for the address others reach it on.
/// </summary>
internal sealed class ClusterSettings
{
    public const string SectionName = "Cluster";

    /// <summary><c>Cluster__Enabled=true</c>: join the cluster of the nodes that share the database.</summary>
    public bool Enabled { get; set; }

    /// <summary>Nodes with the same id and database form one cluster (two clusters may share a database).</summary>
    public string ClusterId { get; set; } = "teletherapy";

    /// <summary>The TCP port nodes talk to each other on (never exposed to clients).</summary>
    public int NodePort { get; set; } = 11111;

    /// <summary>
    /// The address other nodes reach this one on (an IP address). Default: the first of <c>Media__AnnouncedAddresses</c>,
    /// else loopback (a cluster of processes on one machine).
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>This node's name in logs and metrics; default the machine name and node port.</summary>
    public string? NodeName { get; set; }

    /// <summary>How long a node may be silent before the others declare it dead and take its rooms (probes at a third of it).</summary>
    public int FailureDetectionSeconds { get; set; } = 15;

    internal IPAddress ResolveAddress(IEnumerable<string> announced)
    {
        var text = AdvertisedAddress is { Length: > 0 } configured ? configured : announced.FirstOrDefault();
        if (text is null)
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(text, out var address)
            ? address
            : throw new InvalidOperationException($"Cluster__AdvertisedAddress (or the first Media__AnnouncedAddresses) must be an IP address, not '{text}'.");
    }
}
