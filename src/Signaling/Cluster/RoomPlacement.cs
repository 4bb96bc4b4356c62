using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Signaling.Cluster;

/// <summary>Rooms go to the node with the fewest, among the nodes that are not draining.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class RoomPlacement : PlacementStrategy
{
    internal static readonly RoomPlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class RoomPlacementAttribute() : PlacementAttribute(RoomPlacement.Instance);

/// <summary>
/// Places a room by Orleans' own load-based choice (activation count), asked with the draining nodes left out of the
/// candidates. The draining set is read from the database at most every 2 s; when every node drains, all are
/// candidates again (a room must live somewhere).
/// </summary>
internal sealed class RoomPlacementDirector(
    [FromKeyedServices(typeof(ActivationCountBasedPlacement))] IPlacementDirector byLoad,
    ClusterDrainStore drains,
    IOptions<ClusterOptions> cluster,
    TimeProvider time) : IPlacementDirector
{
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(2);
    // Placement runs concurrently: the set and the time it was read are swapped together, as one reference.
    private Draining _draining = new(new HashSet<string>(), DateTimeOffset.MinValue);

    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var draining = await DrainingAsync().ConfigureAwait(false);
        return await byLoad.OnAddActivation(strategy, target, new OpenNodes(context, draining)).ConfigureAwait(false);
    }

    /// <summary>Tells placement on this node at once that a node now drains (others learn it within <see cref="Fresh"/>).</summary>
    internal void Forget() => Volatile.Write(ref _draining, _draining with { ReadAt = DateTimeOffset.MinValue });

    private async Task<IReadOnlySet<string>> DrainingAsync()
    {
        var current = Volatile.Read(ref _draining);
        var now = time.GetUtcNow();
        if (now - current.ReadAt <= Fresh)
        {
            return current.Nodes;
        }

        try
        {
            var read = new Draining(await drains.DrainingAsync(cluster.Value.ClusterId).ConfigureAwait(false), now);
            Volatile.Write(ref _draining, read);
            return read.Nodes;
        }
        catch (System.Data.Common.DbException)
        {
            // Placement goes on with what was last read.
            return current.Nodes;
        }
    }

    private sealed record Draining(IReadOnlySet<string> Nodes, DateTimeOffset ReadAt);

    private sealed class OpenNodes(IPlacementContext inner, IReadOnlySet<string> draining) : IPlacementContext
    {
        public SiloAddress LocalSilo => inner.LocalSilo;

        public SiloStatus LocalSiloStatus => inner.LocalSiloStatus;

        public SiloAddress[] GetCompatibleSilos(PlacementTarget target) => Open(inner.GetCompatibleSilos(target));

        public IReadOnlyDictionary<ushort, SiloAddress[]> GetCompatibleSilosWithVersions(PlacementTarget target) =>
            inner.GetCompatibleSilosWithVersions(target).ToDictionary(v => v.Key, v => Open(v.Value));

        private SiloAddress[] Open(SiloAddress[] silos)
        {
            var open = silos.Where(s => !draining.Contains(s.ToParsableString())).ToArray();
            return open.Length > 0 ? open : silos;
        }
    }
}
