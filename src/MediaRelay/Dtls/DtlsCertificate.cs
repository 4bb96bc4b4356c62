using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using X509CertificateRequest = System.Security.Cryptography.X509Certificates.CertificateRequest;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// The self-signed ECDSA P-256 certificate a transport presents in the DTLS handshake. WebRTC does not
/// use certificate chains: the peer checks only the fingerprint announced in SDP (RFC 8122, RFC 8827 §6.5).
/// Created with .NET's certificate API and handed to BouncyCastle as DER plus private key.
/// </summary>
internal sealed class DtlsCertificate
{
    private readonly byte[] _der;

    private DtlsCertificate(byte[] der, AsymmetricKeyParameter privateKey, SignatureAndHashAlgorithm signatureAlgorithm)
    {
        _der = der;
        PrivateKey = privateKey;
        SignatureAlgorithm = signatureAlgorithm;
        Fingerprint = DtlsFingerprint.Compute(DtlsFingerprint.Sha256, der);
    }

    /// <summary>The DER-encoded X.509 certificate.</summary>
    public ReadOnlySpan<byte> DerEncoded => _der;

    /// <summary>The SHA-256 fingerprint to announce in <c>a=fingerprint</c>.</summary>
    public DtlsFingerprint Fingerprint { get; }

    internal AsymmetricKeyParameter PrivateKey { get; }

    internal SignatureAndHashAlgorithm SignatureAlgorithm { get; }

    /// <summary>Creates a fresh key pair and a self-signed certificate valid from yesterday (clock skew) for <paramref name="validity"/>.</summary>
    public static DtlsCertificate Generate(string commonName = "teletherapy", TimeSpan? validity = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new X509CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now + (validity ?? TimeSpan.FromDays(30)));
        return new DtlsCertificate(
            certificate.RawData,
            PrivateKeyFactory.CreateKey(key.ExportPkcs8PrivateKey()),
            new SignatureAndHashAlgorithm(Org.BouncyCastle.Tls.HashAlgorithm.sha256, Org.BouncyCastle.Tls.SignatureAlgorithm.ecdsa));
    }

    /// <summary>An RSA-2048 certificate, as some peers (GStreamer's webrtcbin) present; for interoperability tests.</summary>
    internal static DtlsCertificate GenerateRsa(string commonName = "rsa-peer")
    {
        using var key = RSA.Create(2048);
        var request = new X509CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        return new DtlsCertificate(
            certificate.RawData,
            PrivateKeyFactory.CreateKey(key.ExportPkcs8PrivateKey()),
            new SignatureAndHashAlgorithm(Org.BouncyCastle.Tls.HashAlgorithm.sha256, Org.BouncyCastle.Tls.SignatureAlgorithm.rsa));
    }

    /// <summary>The signer BouncyCastle uses for ServerKeyExchange or CertificateVerify.</summary>
    internal TlsCredentialedSigner CreateSigner(TlsContext context, BcTlsCrypto crypto) =>
        new BcDefaultTlsCredentialedSigner(
            new TlsCryptoParameters(context),
            crypto,
            PrivateKey,
            new Certificate([new BcTlsCertificate(crypto, _der)]),
            SignatureAlgorithm);
}
