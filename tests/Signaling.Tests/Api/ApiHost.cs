using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Teletherapy.Signaling.Tests.Api;

/// <summary>The server in memory on a temporary data folder (SQLite), with a fake clock, media ports chosen by the system and an API key.</summary>
public sealed class ApiHost : WebApplicationFactory<Program>
{
    public const string ApiKey = "test-integrator-key";

    /// <summary>Monday 2 March 2026, 08:00 UTC.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);

    private readonly bool _demo;

    public ApiHost(bool demo = false)
    {
        _demo = demo;
        DataPath = Path.Combine(Path.GetTempPath(), "teletherapy-api-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataPath);
    }

    public string DataPath { get; }

    public FakeTimeProvider Time { get; } = new(T0);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Teletherapy:DataPath", DataPath);
        builder.UseSetting("Teletherapy:Demo", _demo ? "true" : "false");
        builder.UseSetting("Teletherapy:ApiKeys:0", ApiKey);
        builder.UseSetting("Teletherapy:PublicBaseUrl", "https://clinic.example");
        builder.UseSetting("Media:UdpPort", "0");
        builder.UseSetting("Media:TcpPort", "0");
        builder.UseSetting("Media:BindAddress", "127.0.0.1");
        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Time));
    }

    /// <summary>A client that sends the integrator's API key.</summary>
    public HttpClient Integrator()
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    /// <summary>A client with its own cookie jar and no credentials.</summary>
    public HttpClient Anonymous() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>A signed-in staff client.</summary>
    public async Task<HttpClient> StaffAsync(string email, string password)
    {
        var client = Anonymous();
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email, password });
        response.EnsureSuccessStatusCode();
        return client;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // left for the temp cleaner
        }
    }
}
