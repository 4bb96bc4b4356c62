using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Teletherapy.MediaRelay.Srtp;
using BcCertificateRequest = Org.BouncyCastle.Tls.CertificateRequest;
using BcHash = Org.BouncyCastle.Tls.HashAlgorithm;
using BcSignature = Org.BouncyCastle.Tls.SignatureAlgorithm;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// The SFU's end of DTLS-SRTP (RFC 5764) on BouncyCastle: DTLS 1.2, ECDHE-ECDSA, a mandatory client
/// certificate checked against the SDP fingerprint, use_srtp with one profile of our choosing.
/// </summary>
internal sealed class DtlsServer : DefaultTlsServer, IDtlsEndpoint
{
    private readonly BcTlsCrypto _crypto;
    private readonly DtlsCertificate _certificate;
    private readonly DtlsFingerprint _expectedClientFingerprint;
    private readonly DtlsOptions _options;
    private SrtpProfile? _selectedProfile;
    private byte[] _clientCertificate = [];

    public DtlsServer(BcTlsCrypto crypto, DtlsCertificate certificate, DtlsFingerprint expectedClientFingerprint, DtlsOptions options)
        : base(crypto)
    {
        _crypto = crypto;
        _certificate = certificate;
        _expectedClientFingerprint = expectedClientFingerprint;
        _options = options;
    }

    /// <summary>Set inside <see cref="NotifyHandshakeComplete"/>, the only place the exporter works.</summary>
    public DtlsSrtpKeys? Keys { get; private set; }

    /// <summary>The peer sent close_notify.</summary>
    public bool PeerClosed { get; private set; }

    public DtlsRole Role => DtlsRole.Server;

    public DtlsTransport Handshake(DatagramTransport transport) => new DtlsServerProtocol().Accept(this, transport);

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => DtlsCipherSuites.Ecdsa();

    protected override TlsCredentialedSigner GetECDsaSignerCredentials() => _certificate.CreateSigner(m_context, _crypto);

    public override int GetHandshakeTimeoutMillis() => (int)_options.HandshakeTimeout.TotalMilliseconds;

    // RFC 7627: without the extended master secret the exported SRTP keys are open to a triple handshake.
    public override bool RequiresExtendedMasterSecret() => true;

    // Some peers (pion) omit renegotiation_info; DTLS-SRTP never renegotiates, so there is nothing to protect.
    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    /// <summary>
    /// Asks for the browser's certificate (its fingerprint authenticates the peer, RFC 8122 §5). Chrome
    /// aborts without ecdsa_sign; rsa_sign lets RSA peers such as GStreamer answer too.
    /// </summary>
    public override BcCertificateRequest GetCertificateRequest()
    {
        short[] types = [ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign];
        List<SignatureAndHashAlgorithm> algorithms =
        [
            new(BcHash.sha256, BcSignature.ecdsa),
            new(BcHash.sha384, BcSignature.ecdsa),
            new(BcHash.sha512, BcSignature.ecdsa),
            new(BcHash.sha256, BcSignature.rsa),
            new(BcHash.sha384, BcSignature.rsa),
            new(BcHash.sha512, BcSignature.rsa),
            SignatureAndHashAlgorithm.rsa_pss_rsae_sha256,
            new(BcHash.sha1, BcSignature.ecdsa),
            new(BcHash.sha1, BcSignature.rsa),
        ];
        return new BcCertificateRequest(types, algorithms, null);
    }

    /// <summary>
    /// The ECDHE group: the first of the client's list (RFC 8422 §5.1.1) that is x25519, P-256 or P-384. Every browser
    /// offers one of these; the other groups BouncyCastle would take (x448, P-521, brainpool) make one ClientHello cost
    /// the handshake thread up to ten times as much (README "Reliability", found by load-tests/fuzz.sh). None of the
    /// three offered: no ECDHE suite can be chosen and the handshake fails.
    /// </summary>
    protected override int SelectECDH(int minimumCurveBits)
    {
        int[]? offered = m_context.SecurityParameters.ClientSupportedGroups;
        if (offered is null)
        {
            // RFC 8422 §4: no supported_groups extension means the client supports any; P-256 is among the cheap ones.
            return base.SelectECDH(minimumCurveBits);
        }

        foreach (int group in offered)
        {
            if (group is NamedGroup.x25519 or NamedGroup.secp256r1 or NamedGroup.secp384r1 && NamedGroup.GetCurveBits(group) >= minimumCurveBits)
            {
                return group;
            }
        }

        return -1;
    }

    public override void NotifyClientCertificate(Certificate clientCertificate)
    {
        if (clientCertificate is null || clientCertificate.IsEmpty)
        {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "A client certificate is required.");
        }

        byte[] der = clientCertificate.GetCertificateAt(0).GetEncoded();
        if (!_expectedClientFingerprint.Matches(der))
        {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "Client certificate does not match the SDP fingerprint.");
        }

        _clientCertificate = der;
    }

    public override void ProcessClientExtensions(IDictionary<int, byte[]> clientExtensions)
    {
        base.ProcessClientExtensions(clientExtensions);

        // RFC 5764 §4.1.1: without use_srtp there would be no SRTP keys, which is useless for media.
        UseSrtpData offer = TlsSrtpUtilities.GetUseSrtpExtension(clientExtensions)
            ?? throw new TlsFatalAlert(AlertDescription.handshake_failure, "Client did not offer use_srtp.");
        foreach (SrtpProfile preferred in _options.SrtpProfiles)
        {
            if (Array.IndexOf(offer.ProtectionProfiles, (int)preferred) >= 0)
            {
                _selectedProfile = preferred;
                return;
            }
        }

        throw new TlsFatalAlert(AlertDescription.handshake_failure, "No SRTP protection profile in common.");
    }

    public override IDictionary<int, byte[]> GetServerExtensions()
    {
        IDictionary<int, byte[]> extensions = TlsExtensionsUtilities.EnsureExtensionsInitialised(base.GetServerExtensions());

        // RFC 5764 §4.1.1: the server answers with exactly one profile; we use no MKI.
        TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([(int)_selectedProfile!.Value], TlsUtilities.EmptyBytes));
        return extensions;
    }

    public override void NotifyAlertReceived(short alertLevel, short alertDescription)
    {
        base.NotifyAlertReceived(alertLevel, alertDescription);
        if (alertDescription == AlertDescription.close_notify)
        {
            PeerClosed = true;
        }
    }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        Keys = DtlsSrtpKeys.Export(m_context, _selectedProfile, DtlsRole.Server, _clientCertificate);
    }
}
