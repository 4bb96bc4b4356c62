namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// A peer transport as the shared sockets see it: it receives every packet of its bound paths, and the
/// first STUN check of a new path when the check's USERNAME names its ufrag.
/// Called on a socket's receive thread: must not block.
/// </summary>
internal interface IMediaEndpoint
{
    void OnPacket(PacketPath path, Span<byte> packet, PacketClass packetClass);

    /// <summary>A bound path went away (TCP connection closed).</summary>
    void OnPathClosed(PacketPath path);
}
