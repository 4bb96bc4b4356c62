namespace Teletherapy.MediaRelay.Transport;

/// <summary>How a client reaches a server candidate: UDP, or ICE-TCP with RFC 4571 framing (RFC 6544).</summary>
internal enum IceTransportProtocol
{
    Udp,
    Tcp,
}
