using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// Who gets a packet: by the remote 5-tuple once a path is bound (after an authenticated STUN check), or
/// by the local ICE ufrag in a STUN USERNAME for a path seen for the first time (as mediasoup's
/// WebRtcServer does). Ufrags are 8 ASCII characters, so they are looked up as one 64-bit key. The transport found
/// is called on a socket's receive thread for every packet of its bound paths (and the first check of a new one), so
/// it is held as the class it is, called directly, not through an interface's dispatch stub; it must not block.
/// </summary>
internal sealed class TransportDirectory
{
    private readonly ConcurrentDictionary<ulong, WebRtcTransport> _byUfrag = new();
    private readonly ConcurrentDictionary<RemoteKey, Binding> _byRemote = new();

    public int BoundPaths => _byRemote.Count;

    public static bool TryUfragKey(ReadOnlySpan<byte> ufrag, out ulong key)
    {
        key = 0;
        if (ufrag.Length != 8)
        {
            return false;
        }

        key = BinaryPrimitives.ReadUInt64BigEndian(ufrag);
        return true;
    }

    public bool RegisterUfrag(ReadOnlySpan<byte> ufrag, WebRtcTransport endpoint) =>
        TryUfragKey(ufrag, out var key) && _byUfrag.TryAdd(key, endpoint);

    public void UnregisterUfrag(ReadOnlySpan<byte> ufrag, WebRtcTransport endpoint)
    {
        if (TryUfragKey(ufrag, out var key))
        {
            _byUfrag.TryRemove(new KeyValuePair<ulong, WebRtcTransport>(key, endpoint));
        }
    }

    public bool TryGetByUfrag(ReadOnlySpan<byte> ufrag, out WebRtcTransport? endpoint)
    {
        endpoint = null;
        return TryUfragKey(ufrag, out var key) && _byUfrag.TryGetValue(key, out endpoint);
    }

    /// <summary>
    /// Binds a path to an endpoint after an authenticated check; a path already bound to another endpoint moves (the
    /// browser re-used a port). An ICE-TCP connection so bound has passed its first valid check: its idle timer stops.
    /// </summary>
    public void Bind(PacketPath path, WebRtcTransport endpoint)
    {
        _byRemote[path.Key] = new Binding(endpoint, path);
        (path as TcpConnection)?.MarkAuthenticated();
    }

    public bool TryGet(RemoteKey key, out Binding binding) => _byRemote.TryGetValue(key, out binding!);

    public void Unbind(RemoteKey key, WebRtcTransport endpoint)
    {
        if (_byRemote.TryGetValue(key, out var binding) && ReferenceEquals(binding.Endpoint, endpoint))
        {
            _byRemote.TryRemove(new KeyValuePair<RemoteKey, Binding>(key, binding));
        }
    }

    internal sealed record Binding(WebRtcTransport Endpoint, PacketPath Path);
}
