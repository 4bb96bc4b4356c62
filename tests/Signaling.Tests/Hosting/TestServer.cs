using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>
/// The real host in memory, with its own data folder, system-chosen media ports (so tests never
/// collide with a running server) and no demo data unless a test asks for it.
/// </summary>
public sealed class TestServer : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public TestServer(IDictionary<string, string?>? settings = null)
    {
        DataPath = Path.Combine(Path.GetTempPath(), "teletherapy-test-" + Guid.NewGuid().ToString("N"));
        _settings = new Dictionary<string, string?>
        {
            ["Teletherapy:DataPath"] = DataPath,
            ["Teletherapy:Demo"] = "false",
            ["Media:UdpPort"] = "0",
            ["Media:TcpPort"] = "0",
            ["Media:BindAddress"] = "127.0.0.1",
        };
        if (settings is not null)
        {
            foreach (var (key, value) in settings)
            {
                _settings[key] = value;
            }
        }
    }

    public string DataPath { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // A null value leaves the setting to the server's own default.
        foreach (var (key, value) in _settings.Where(s => s.Value is not null))
        {
            builder.UseSetting(key, value);
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
