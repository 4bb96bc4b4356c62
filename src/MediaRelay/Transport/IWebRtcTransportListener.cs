namespace Teletherapy.MediaRelay.Transport;

/// <summary>How a peer transport reports up to its owner (the router side). Called on receive threads: must not block.</summary>
internal interface IWebRtcTransportListener
{
    /// <summary>A decrypted RTP packet; the span is only valid during the call.</summary>
    void OnRtp(WebRtcTransport transport, Span<byte> packet);

    /// <summary>A decrypted RTCP datagram (compound or reduced-size); only valid during the call.</summary>
    void OnRtcp(WebRtcTransport transport, Span<byte> packet);

    /// <summary>ICE and DTLS are done: media can flow.</summary>
    void OnConnected(WebRtcTransport transport);

    /// <summary>The transport closed (consent expired, DTLS closed or failed, or closed by us).</summary>
    void OnClosed(WebRtcTransport transport);
}
