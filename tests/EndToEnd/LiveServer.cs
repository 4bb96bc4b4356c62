using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.Signaling.Tests.Hosting;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The real server on Kestrel at a free loopback port, with its own data folder, system-chosen media ports
/// and 127.0.0.1 as the announced ICE address (what a browser in a loopback-only namespace can reach).
/// </summary>
public class LiveServer : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    private readonly string _urls = "http://127.0.0.1:0";

    /// <param name="https">
    /// Serve HTTPS with this certificate (Kestrel's PEM settings) at <c>https://clinic.test:PORT</c>, the name a browser
    /// launched with <see cref="Browser.ClinicTestHost"/> maps to loopback.
    /// </param>
    public LiveServer(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, TestCertificate? https = null)
    {
        _services = services;
        DataPath = Path.Combine(Path.GetTempPath(), "teletherapy-e2e-" + Guid.NewGuid().ToString("N"));
        _settings = new Dictionary<string, string?>
        {
            ["Teletherapy:DataPath"] = DataPath,
            ["Teletherapy:Demo"] = "false",
            ["Media:UdpPort"] = "0",
            ["Media:TcpPort"] = "0",
            ["Media:BindAddress"] = "127.0.0.1",
            ["Media:AnnouncedAddresses:0"] = "127.0.0.1",
        };
        if (settings is not null)
        {
            foreach (var (key, value) in settings)
            {
                _settings[key] = value;
            }
        }

        if (https is not null)
        {
            // The public address must be known before the start: a free port is chosen first.
            var port = ExternalProcess.FreeTcpPort();
            _urls = $"https://127.0.0.1:{port}";
            foreach (var (key, value) in https.KestrelSettings)
            {
                _settings[key] = value;
            }

            _settings["Teletherapy:PublicBaseUrl"] = $"https://clinic.test:{port}";
            UseKestrel();
            StartServer();
            BaseUrl = $"https://clinic.test:{port}";
            return;
        }

        UseKestrel(0);
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseUrl = addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
    }

    public string DataPath { get; }

    public string BaseUrl { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseUrls(_urls);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_services is not null)
        {
            builder.ConfigureTestServices(_services);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            try
            {
                Directory.Delete(DataPath, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
