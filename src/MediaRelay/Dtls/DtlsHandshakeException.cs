namespace Teletherapy.MediaRelay.Dtls;

/// <summary>The DTLS handshake failed: timeout, a fatal alert sent or received, or the transport closed.</summary>
internal sealed class DtlsHandshakeException : Exception
{
    public DtlsHandshakeException()
    {
    }

    public DtlsHandshakeException(string message)
        : base(message)
    {
    }

    public DtlsHandshakeException(string message, Exception innerException)
        : base(message, innerException)
    {
        Alert = innerException switch
        {
            Org.BouncyCastle.Tls.TlsFatalAlert sent => sent.AlertDescription,
            Org.BouncyCastle.Tls.TlsFatalAlertReceived received => received.AlertDescription,
            _ => null,
        };
    }

    /// <summary>The TLS alert description (RFC 5246 §7.2) that ended the handshake, if one did; e.g. 42 bad_certificate.</summary>
    public short? Alert { get; }
}
