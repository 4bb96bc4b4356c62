using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Client;

/// <summary>How a <see cref="WebRtcClientTransport"/> reports up. Called on its receive thread: must not block.</summary>
internal interface IWebRtcClientTransportListener
{
    /// <summary>A decrypted RTP packet; the span is only valid during the call.</summary>
    void OnRtp(WebRtcClientTransport transport, Span<byte> packet);

    /// <summary>A decrypted RTCP datagram (compound or reduced-size); only valid during the call.</summary>
    void OnRtcp(WebRtcClientTransport transport, Span<byte> packet);

    /// <summary>The transport closed: disposed, the server closed DTLS, the connection broke, or consent lapsed.</summary>
    void OnClosed(WebRtcClientTransport transport);
}
