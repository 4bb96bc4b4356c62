using System.Collections.Concurrent;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// One session's media (mediasoup's Router): its peers and, through them, every producer and consumer.
/// Knows nothing of appointments; the caller decides who is admitted by opening each peer's gate.
/// </summary>
public sealed class Router : IDisposable
{
    private readonly ConcurrentDictionary<string, RouterPeer> _peers = new(StringComparer.Ordinal);
    private readonly RelayContext _context;
    private readonly Action<Router> _onClosed;

    internal Router(string id, RelayContext context, Action<Router> onClosed)
    {
        Id = id;
        _context = context;
        _onClosed = onClosed;
    }

    public string Id { get; }

    public bool IsClosed { get; private set; }

    public IReadOnlyCollection<RouterPeer> Peers => (IReadOnlyCollection<RouterPeer>)_peers.Values;

    /// <summary>The peer with this id, made on first use. A new peer's gate is shut.</summary>
    public RouterPeer GetOrAddPeer(string peerId)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        return _peers.GetOrAdd(peerId, id => new RouterPeer(id, this, _context));
    }

    public RouterPeer? FindPeer(string peerId) => _peers.TryGetValue(peerId, out var peer) ? peer : null;

    /// <summary>Closes a peer's transports and frees its producers and consumers.</summary>
    public void RemovePeer(string peerId)
    {
        if (_peers.TryRemove(peerId, out var peer))
        {
            peer.Close();
        }
    }

    public void Dispose()
    {
        if (IsClosed)
        {
            return;
        }

        IsClosed = true;
        foreach (var peer in _peers.Values)
        {
            peer.Close();
        }

        _peers.Clear();
        _onClosed(this);
    }

    /// <summary>A peer's producers changed: every other peer's subscription is out of date.</summary>
    internal void OnProducersChanged(RouterPeer source)
    {
        foreach (var peer in _peers.Values)
        {
            if (!ReferenceEquals(peer, source))
            {
                peer.RaiseSubscriptionsChanged();
            }
        }
    }

    internal IEnumerable<Producer> ProducersExcept(RouterPeer subscriber)
    {
        foreach (var peer in _peers.Values)
        {
            if (ReferenceEquals(peer, subscriber))
            {
                continue;
            }

            foreach (var producer in peer.Producers)
            {
                yield return producer;
            }
        }
    }
}
