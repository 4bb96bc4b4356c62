namespace Teletherapy.MediaRelay.Transport;

/// <summary>Lifecycle of a peer transport: New → Connecting (first valid check) → Connected (SRTP keys) → Closed.</summary>
internal enum WebRtcTransportState
{
    New,
    Connecting,
    Connected,
    Closed,
}
