using System.Security.Cryptography.X509Certificates;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// Data-protection keys (they sign the sign-in cookies) kept in the installation's database: the SQLite file in the
/// data folder, or PostgreSQL, which every node of a cluster shares. A restart signs no one out. At rest the keys are
/// encrypted with the certificate in <c>DataProtection:CertificatePath</c>/<c>KeyPath</c> (PEM) when one is given, and
/// with DPAPI on Windows.
/// </summary>
internal static class KeyStorage
{
    /// <summary>The same on every node, whatever folder the server runs from (the default is the content root).</summary>
    public const string ApplicationName = "Teletherapy";

    public static WebApplicationBuilder AddKeyStorage(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var protection = builder.Services.AddDataProtection().SetApplicationName(ApplicationName);
        builder.Services.AddSingleton<DatabaseXmlRepository>();
        builder.Services.AddOptions<KeyManagementOptions>().Configure<DatabaseXmlRepository>((o, repository) => o.XmlRepository = repository);

        if (config["DataProtection:CertificatePath"] is { Length: > 0 } certificatePath)
        {
            protection.ProtectKeysWithCertificate(LoadCertificate(certificatePath, config["DataProtection:KeyPath"]));
        }
        else if (OperatingSystem.IsWindows())
        {
            protection.ProtectKeysWithDpapi();
        }

        return builder;
    }

    private static X509Certificate2 LoadCertificate(string certificatePath, string? keyPath)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certificatePath, string.IsNullOrEmpty(keyPath) ? null : keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"DataProtection:CertificatePath {certificatePath} cannot be loaded: {e.Message}", e);
        }
    }
}

/// <summary>The key manager's storage on <see cref="KeyRingStore"/> (the interface is synchronous; keys are read rarely).</summary>
internal sealed class DatabaseXmlRepository(KeyRingStore store) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() =>
        store.ReadAllAsync().GetAwaiter().GetResult().Select(xml => XElement.Parse(xml)).ToList();

    public void StoreElement(XElement element, string friendlyName) =>
        store.StoreAsync(string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName, element.ToString(SaveOptions.DisableFormatting))
            .GetAwaiter().GetResult();
}
