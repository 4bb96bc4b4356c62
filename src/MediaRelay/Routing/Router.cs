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
    private readonly Lock _addLock = new();

    internal Router(string id, RelayContext context, Action<Router> onClosed)
    {
        Id = id;
        _context = context;
        _onClosed = onClosed;
    }

    internal string Id { get; }

    internal bool IsClosed { get; private set; }

    internal IReadOnlyCollection<RouterPeer> Peers => (IReadOnlyCollection<RouterPeer>)_peers.Values;

    /// <summary>The admitted peer speaking loudest (RFC 6464 levels of their audio), or null when nobody speaks.</summary>
    internal RouterPeer? ActiveSpeaker { get; private set; }

    /// <summary>Raised when <see cref="ActiveSpeaker"/> changes (on the housekeeping thread), for an active-speaker hint in the UI.</summary>
    internal event Action<Router, RouterPeer?>? ActiveSpeakerChanged;

    /// <summary>
    /// Picks the active speaker: the admitted peer with the loudest audio level, if it is above silence. A new speaker
    /// must be louder than the current one by a margin, so two people talking at once do not make the hint flicker.
    /// </summary>
    internal void UpdateActiveSpeaker()
    {
        const int Silence = 80; // -80 dBov and quieter is background, not speech
        const int Margin = 6;   // dB
        RouterPeer? loudest = null;
        var loudestLevel = Silence;
        foreach (var peer in _peers.Values)
        {
            var level = peer.AudioLevel;
            if (peer.IsAdmitted && level < loudestLevel)
            {
                loudest = peer;
                loudestLevel = level;
            }
        }

        var current = ActiveSpeaker;
        if (current is not null && loudest is not null && current != loudest && current.IsAdmitted && current.AudioLevel < Silence
            && current.AudioLevel - loudestLevel < Margin)
        {
            return;
        }

        if (loudest is null && current is not null && current.IsAdmitted && current.AudioLevel < 127)
        {
            return; // a pause between words keeps the speaker
        }

        if (!ReferenceEquals(loudest, current))
        {
            ActiveSpeaker = loudest;
            ActiveSpeakerChanged?.Invoke(this, loudest);
        }
    }

    /// <summary>
    /// The peer with this id, made on first use. A new peer's gate is shut. Throws <see cref="MediaLimitExceededException"/>
    /// (counted) instead of making a peer beyond <see cref="MediaOptions.MaxPeersPerRouter"/>; an existing peer is always returned.
    /// </summary>
    public RouterPeer GetOrAddPeer(string peerId)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        if (_peers.TryGetValue(peerId, out var existing))
        {
            return existing;
        }

        lock (_addLock)
        {
            if (_peers.TryGetValue(peerId, out existing))
            {
                return existing;
            }

            var max = _context.Limits.MaxPeersPerRouter;
            if (_peers.Count >= max)
            {
                RelayMetrics.LimitPeersPerRouter.Inc();
                throw new MediaLimitExceededException(MediaLimits.PeersPerRouter, $"The session already has {max} participants with media, its limit.");
            }

            var peer = new RouterPeer(peerId, this, _context);
            _peers[peerId] = peer;
            return peer;
        }
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

    /// <summary>A peer was admitted or sent back: those who only see admitted peers need a new subscribe offer.</summary>
    internal void OnGateChanged(RouterPeer source)
    {
        foreach (var peer in _peers.Values)
        {
            if (!ReferenceEquals(peer, source) && !peer.SeesWaitingPeers)
            {
                peer.RaiseSubscriptionsChanged();
            }
        }
    }

    /// <summary>The tracks <paramref name="subscriber"/> may be offered: admitted peers', and waiting peers' too for those who see them.</summary>
    internal IEnumerable<Producer> ProducersExcept(RouterPeer subscriber)
    {
        foreach (var peer in _peers.Values)
        {
            if (ReferenceEquals(peer, subscriber))
            {
                continue;
            }

            if (!peer.IsAdmitted && !subscriber.SeesWaitingPeers)
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
