using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Client;

/// <summary>
/// The browser's end of DTLS-SRTP, for the load generator and tests: DTLS 1.2, offers use_srtp with the
/// configured profiles, presents an ECDSA certificate, checks the server's against the SDP fingerprint. The relay's
/// <see cref="DtlsSession"/> runs it like its own server end; <see cref="Session"/> makes such a session.
/// </summary>
internal sealed class DtlsClient : DefaultTlsClient, IDtlsEndpoint
{
    private readonly DtlsOptions _options;
    private SrtpProfile? _selectedProfile;

    public DtlsClient(BcTlsCrypto crypto, DtlsCertificate certificate, DtlsFingerprint expectedServerFingerprint, DtlsOptions options)
        : base(crypto)
    {
        BcCrypto = crypto;
        Certificate = certificate;
        ExpectedServerFingerprint = expectedServerFingerprint;
        _options = options;
    }

    public DtlsSrtpKeys? Keys { get; private set; }

    public bool PeerClosed { get; private set; }

    public DtlsRole Role => DtlsRole.Client;

    internal BcTlsCrypto BcCrypto { get; }

    internal DtlsCertificate Certificate { get; }

    internal DtlsFingerprint ExpectedServerFingerprint { get; }

    internal TlsClientContext ClientContext => m_context;

    internal byte[] ServerCertificate { get; set; } = [];

    /// <summary>A session for the browser's end (<c>a=setup:active</c>); nothing is sent before <see cref="DtlsSession.Start"/>.</summary>
    /// <param name="localCertificate">Our certificate; its fingerprint is in our SDP.</param>
    /// <param name="remoteFingerprint">The server's <c>a=fingerprint</c>; the handshake fails with bad_certificate otherwise.</param>
    /// <param name="send">Sends one datagram to the server; called on the session's thread.</param>
    /// <param name="options">Profiles, timeout, MTU; defaults when null.</param>
    public static DtlsSession Session(DtlsCertificate localCertificate, DtlsFingerprint remoteFingerprint, Action<ReadOnlySpan<byte>> send, DtlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(localCertificate);
        ArgumentNullException.ThrowIfNull(remoteFingerprint);
        return new DtlsSession(o => new DtlsClient(new BcTlsCrypto(), localCertificate, remoteFingerprint, o), send, options);
    }

    public DtlsTransport Handshake(DatagramTransport transport) => new DtlsClientProtocol().Connect(this, transport);

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => DtlsCipherSuites.Ecdsa();

    public override int GetHandshakeTimeoutMillis() => (int)_options.HandshakeTimeout.TotalMilliseconds;

    public override bool RequiresExtendedMasterSecret() => true;

    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    public override IDictionary<int, byte[]> GetClientExtensions()
    {
        IDictionary<int, byte[]> extensions = TlsExtensionsUtilities.EnsureExtensionsInitialised(base.GetClientExtensions());
        int[] profiles = _options.SrtpProfiles.Select(p => (int)p).ToArray();
        TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData(profiles, TlsUtilities.EmptyBytes));
        return extensions;
    }

    public override void ProcessServerExtensions(IDictionary<int, byte[]> serverExtensions)
    {
        base.ProcessServerExtensions(serverExtensions);

        // RFC 5764 §4.1.1: exactly one profile, one we offered, and the MKI we sent (none).
        UseSrtpData answer = TlsSrtpUtilities.GetUseSrtpExtension(serverExtensions)
            ?? throw new TlsFatalAlert(AlertDescription.handshake_failure, "Server did not answer use_srtp.");
        if (answer.ProtectionProfiles.Length != 1 || answer.Mki.Length != 0
            || !_options.SrtpProfiles.Contains((SrtpProfile)answer.ProtectionProfiles[0]))
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "Invalid use_srtp answer.");
        }

        _selectedProfile = (SrtpProfile)answer.ProtectionProfiles[0];
    }

    public override TlsAuthentication GetAuthentication() => new DtlsClientAuthentication(this);

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
        Keys = DtlsSrtpKeys.Export(m_context, _selectedProfile, DtlsRole.Client, ServerCertificate);
    }
}
