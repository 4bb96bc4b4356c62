using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>A self-signed certificate for clinic.test, localhost and 127.0.0.1, written as the PEM pair Kestrel's settings read.</summary>
public sealed class TestCertificate : IDisposable
{
    private readonly string _folder;

    public TestCertificate()
    {
        _folder = Path.Combine(Path.GetTempPath(), "teletherapy-cert-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=clinic.test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("clinic.test");
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CertificatePath = Path.Combine(_folder, "cert.pem");
        KeyPath = Path.Combine(_folder, "key.pem");
        File.WriteAllText(CertificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(KeyPath, key.ExportPkcs8PrivateKeyPem());
    }

    public string CertificatePath { get; }

    public string KeyPath { get; }

    /// <summary>The Kestrel settings that serve HTTPS with this certificate.</summary>
    public IEnumerable<KeyValuePair<string, string?>> KestrelSettings =>
    [
        new("Kestrel:Certificates:Default:Path", CertificatePath),
        new("Kestrel:Certificates:Default:KeyPath", KeyPath),
    ];

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
