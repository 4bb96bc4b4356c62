using Org.BouncyCastle.Tls;

namespace Teletherapy.MediaRelay.Client;

/// <summary>The client side's certificate handling: verify the server by fingerprint, answer its CertificateRequest.</summary>
internal sealed class DtlsClientAuthentication : TlsAuthentication
{
    private readonly DtlsClient _client;

    public DtlsClientAuthentication(DtlsClient client) => _client = client;

    public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
    {
        Certificate chain = serverCertificate.Certificate;
        if (chain is null || chain.IsEmpty)
        {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "Server sent no certificate.");
        }

        // RFC 8122 §5 / RFC 8827 §6.5: the self-signed certificate is trusted only through the SDP fingerprint.
        byte[] der = chain.GetCertificateAt(0).GetEncoded();
        if (!_client.ExpectedServerFingerprint.Matches(der))
        {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "Server certificate does not match the SDP fingerprint.");
        }

        _client.ServerCertificate = der;
    }

    public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) =>
        _client.Certificate.CreateSigner(_client.ClientContext, _client.BcCrypto);
}
