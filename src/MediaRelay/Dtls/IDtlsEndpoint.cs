using Org.BouncyCastle.Tls;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// One end of a DTLS-SRTP handshake, run by <see cref="DtlsSession"/> on a handshake thread: the relay's
/// <see cref="DtlsServer"/>, or the browser's end that the client-side assembly brings along.
/// </summary>
internal interface IDtlsEndpoint
{
    /// <summary>Which end this is (decides which exported key is ours).</summary>
    DtlsRole Role { get; }

    /// <summary>The SRTP keys, once the handshake completed.</summary>
    DtlsSrtpKeys? Keys { get; }

    /// <summary>The peer sent close_notify.</summary>
    bool PeerClosed { get; }

    /// <summary>Runs the handshake over <paramref name="transport"/>; blocks between flights.</summary>
    DtlsTransport Handshake(DatagramTransport transport);
}
