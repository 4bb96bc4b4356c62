namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// Which end of the DTLS handshake we are. With ICE-lite the SFU is always the server
/// (<c>a=setup:passive</c>); the load generator and tests play the browser as client.
/// </summary>
internal enum DtlsRole
{
    /// <summary>Sends the ClientHello (<c>a=setup:active</c>).</summary>
    Client,

    /// <summary>Answers the ClientHello (<c>a=setup:passive</c>).</summary>
    Server,
}
