using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography;
using Teletherapy.MediaRelay.Dtls;

namespace Teletherapy.MediaRelay.Tests.Dtls;

public sealed class DtlsFingerprintTests
{
    [Fact]
    public void CertificateFingerprintIsUppercaseColonSeparatedSha256OfTheDer()
    {
        DtlsCertificate certificate = DtlsSessionPair.ServerCertificate;
        string expected = string.Join(':', SHA256.HashData(certificate.DerEncoded).Select(b => b.ToString("X2")));

        Assert.Equal("sha-256", certificate.Fingerprint.Algorithm);
        Assert.Equal(expected, certificate.Fingerprint.ToHex());
        Assert.Equal("sha-256 " + expected, certificate.Fingerprint.ToString());
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", certificate.Fingerprint.ToHex());
    }

    [Fact]
    public void CertificateIsSelfSignedEcdsaP256()
    {
        using var x509 = X509CertificateLoader.LoadCertificate(DtlsSessionPair.ClientCertificate.DerEncoded);
        using ECDsa? key = x509.GetECDsaPublicKey();
        Assert.NotNull(key);
        Assert.Equal(256, key.KeySize);
        Assert.Equal(x509.Subject, x509.Issuer);
        Assert.True(x509.NotAfter > DateTime.UtcNow);
    }

    [Fact]
    public void ParsedSdpValueMatchesTheCertificateRegardlessOfHexCase()
    {
        DtlsCertificate certificate = DtlsSessionPair.ClientCertificate;
        Assert.True(DtlsFingerprint.TryParse(certificate.Fingerprint.ToString().ToLowerInvariant(), out DtlsFingerprint? parsed));
        Assert.True(parsed!.Matches(certificate.DerEncoded));
        Assert.False(parsed.Matches(DtlsSessionPair.ServerCertificate.DerEncoded));
    }

    [Theory]
    [InlineData("sha-1", 20)]
    [InlineData("SHA-384", 48)]
    [InlineData("sha-512", 64)]
    public void OtherHashFunctionsComputeAndVerify(string algorithm, int length)
    {
        DtlsCertificate certificate = DtlsSessionPair.ClientCertificate;
        DtlsFingerprint fingerprint = DtlsFingerprint.Compute(algorithm, certificate.DerEncoded);
        Assert.Equal(length, fingerprint.Value.Length);
        Assert.True(DtlsFingerprint.TryParse(fingerprint.ToString(), out DtlsFingerprint? parsed));
        Assert.True(parsed!.Matches(certificate.DerEncoded));
        Assert.False(parsed.Matches(DtlsSessionPair.ServerCertificate.DerEncoded));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha-256")]
    [InlineData("md5 AB:CD")]
    [InlineData("sha-256 AB:CD")]
    [InlineData("sha-1 ZZ:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00")]
    [InlineData("sha-1 000:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00")]
    public void MalformedSdpValuesAreRefused(string? value) =>
        Assert.False(DtlsFingerprint.TryParse(value, out _));
}
