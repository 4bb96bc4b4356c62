using Org.BouncyCastle.Tls;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// The outcome of a DTLS-SRTP handshake: the negotiated profile and the SRTP master keys, already assigned
/// to our side and the peer's side (RFC 5764 §4.2).
/// </summary>
internal sealed class DtlsSrtpKeys
{
    private readonly byte[] _localKey;
    private readonly byte[] _localSalt;
    private readonly byte[] _remoteKey;
    private readonly byte[] _remoteSalt;

    private DtlsSrtpKeys(SrtpProfile profile, DtlsRole role, byte[] localKey, byte[] localSalt, byte[] remoteKey, byte[] remoteSalt, byte[] remoteCertificate)
    {
        Profile = profile;
        Role = role;
        _localKey = localKey;
        _localSalt = localSalt;
        _remoteKey = remoteKey;
        _remoteSalt = remoteSalt;
        RemoteCertificate = remoteCertificate;
    }

    /// <summary>The SRTP protection profile both sides agreed on.</summary>
    public SrtpProfile Profile { get; }

    /// <summary>Our role in the handshake.</summary>
    public DtlsRole Role { get; }

    /// <summary>Master key we protect outgoing packets with.</summary>
    public ReadOnlySpan<byte> LocalMasterKey => _localKey;

    /// <summary>Master salt we protect outgoing packets with.</summary>
    public ReadOnlySpan<byte> LocalMasterSalt => _localSalt;

    /// <summary>Master key the peer protects with, which we unprotect incoming packets with.</summary>
    public ReadOnlySpan<byte> RemoteMasterKey => _remoteKey;

    /// <summary>Master salt the peer protects with.</summary>
    public ReadOnlySpan<byte> RemoteMasterSalt => _remoteSalt;

    /// <summary>The DER certificate the peer presented (its fingerprint has been verified).</summary>
    public ReadOnlyMemory<byte> RemoteCertificate { get; }

    /// <summary>Creates the two SRTP contexts of the transport: one for what we send, one for what we receive.</summary>
    public void CreateContexts(out SrtpContext outbound, out SrtpContext inbound)
    {
        outbound = new SrtpContext(Profile, _localKey, _localSalt);
        inbound = new SrtpContext(Profile, _remoteKey, _remoteSalt);
    }

    /// <summary>
    /// Splits the exporter output client_write_SRTP_master_key | server_write_SRTP_master_key |
    /// client_write_SRTP_master_salt | server_write_SRTP_master_salt (RFC 5764 §4.2): the client protects with
    /// the client half, the server with the server half.
    /// </summary>
    internal static DtlsSrtpKeys FromKeyingMaterial(SrtpProfile profile, DtlsRole role, ReadOnlySpan<byte> material, byte[] remoteCertificate)
    {
        int keyLength = profile.KeyLength();
        int saltLength = profile.SaltLength();
        if (material.Length != KeyingMaterialLength(profile))
        {
            throw new ArgumentException($"Keying material for {profile} must be {KeyingMaterialLength(profile)} bytes.", nameof(material));
        }

        byte[] clientKey = material[..keyLength].ToArray();
        byte[] serverKey = material.Slice(keyLength, keyLength).ToArray();
        byte[] clientSalt = material.Slice(2 * keyLength, saltLength).ToArray();
        byte[] serverSalt = material.Slice((2 * keyLength) + saltLength, saltLength).ToArray();
        return role == DtlsRole.Client
            ? new DtlsSrtpKeys(profile, role, clientKey, clientSalt, serverKey, serverSalt, remoteCertificate)
            : new DtlsSrtpKeys(profile, role, serverKey, serverSalt, clientKey, clientSalt, remoteCertificate);
    }

    /// <summary>2 · (key + salt): 60 bytes for AES-CM-128, 56 for GCM-128, 88 for GCM-256.</summary>
    /// <summary>
    /// RFC 5764 §4.2: exports the keying material of a finished handshake. BouncyCastle allows the exporter only
    /// inside <c>NotifyHandshakeComplete</c>, not after Accept/Connect returns, so both peers call this from there.
    /// </summary>
    internal static DtlsSrtpKeys Export(TlsContext context, SrtpProfile? negotiated, DtlsRole role, byte[] remoteCertificate)
    {
        var profile = negotiated ?? throw new TlsFatalAlert(AlertDescription.internal_error);
        var material = context.ExportKeyingMaterial(ExporterLabel.dtls_srtp, null, KeyingMaterialLength(profile));
        return FromKeyingMaterial(profile, role, material, remoteCertificate);
    }

    internal static int KeyingMaterialLength(SrtpProfile profile) => 2 * (profile.KeyLength() + profile.SaltLength());
}
