using System.Net.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>The real host on Kestrel at loopback ports chosen by the system, listening on the given URLs (HTTPS from Kestrel's own settings).</summary>
public sealed class KestrelHost : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public KestrelHost(string urls, IEnumerable<KeyValuePair<string, string?>> settings)
    {
        _settings = new Dictionary<string, string?>
        {
            ["Teletherapy:Demo"] = "true",
            ["Media:UdpPort"] = "0",
            ["Media:TcpPort"] = "0",
            ["Media:BindAddress"] = "127.0.0.1",
        };
        foreach (var (key, value) in settings)
        {
            _settings[key] = value;
        }

        _settings["urls"] = urls;
        UseKestrel();
        StartServer();
        Addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
    }

    public IReadOnlyList<Uri> Addresses { get; }

    public Uri Https => Addresses.First(a => a.Scheme == Uri.UriSchemeHttps);

    public Uri Http => Addresses.First(a => a.Scheme == Uri.UriSchemeHttp);

    /// <summary>A client that trusts only the given certificate and follows no redirects.</summary>
    public static HttpClient ClientTrusting(string certificatePem) => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(
                    System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(certificatePem).GetRawCertData()),
        },
    });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
