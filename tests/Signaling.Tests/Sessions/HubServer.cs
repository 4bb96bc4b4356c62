using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// The real server on Kestrel (a loopback port chosen by the system) with its own data folder, media sockets on
/// loopback, an integrator API key and a fake clock that only moves when a test moves it.
/// </summary>
public sealed class HubServer : WebApplicationFactory<Program>
{
    public const string ApiKey = "hub-tests-key";

    /// <summary>Bounds every wait and call of the session tests.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly List<HubClient> _clients = [];
    private readonly bool _realClock;
    private HttpClient? _integrator;

    /// <param name="realClock">
    /// The system clock for the server (its <see cref="Time"/> then only tells the time it started): for a server that
    /// runs timers of its own the fake clock would stop, as a cluster node's membership does.
    /// </param>
    public HubServer(bool realClock = false)
    {
        _realClock = realClock;
        DataPath = Path.Combine(Path.GetTempPath(), "teletherapy-hub-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataPath);

        // Whole seconds: the database keeps times to the second or finer, and the tests compare them.
        var now = TimeProvider.System.GetUtcNow();
        Time = new FakeTimeProvider(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, TimeSpan.Zero));
        UseKestrel(0);
    }

    public string DataPath { get; }

    public FakeTimeProvider Time { get; }

    /// <summary>More settings, applied at <see cref="Start"/>. Every client is 127.0.0.1 here: the hub's per-client limits are wide unless a test narrows them.</summary>
    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Throttling:HubConnectsPerMinute"] = "100000",
        ["Throttling:HubConnectionsPerClient"] = "100000",
        ["Throttling:JoinLookupsPerMinute"] = "100000",
    };

    /// <summary>Services to add or replace after the server's own, applied at <see cref="Start"/> (a test's observers, faster timers).</summary>
    public Action<IServiceCollection>? TestServices { get; set; }

    public Uri BaseAddress { get; private set; } = null!;

    public Uri HubUrl => new(BaseAddress, "/hubs/session");

    /// <summary>Starts Kestrel and learns its address.</summary>
    public HubServer Start()
    {
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var address = addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal);
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return this;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Teletherapy:DataPath", DataPath);
        builder.UseSetting("Teletherapy:Demo", "false");
        builder.UseSetting("Teletherapy:ApiKeys:0", ApiKey);
        builder.UseSetting("Teletherapy:PublicBaseUrl", "https://clinic.example");
        builder.UseSetting("Media:UdpPort", "0");
        builder.UseSetting("Media:TcpPort", "0");
        builder.UseSetting("Media:BindAddress", "127.0.0.1");
        builder.UseSetting("Media:AnnouncedAddresses:0", "127.0.0.1");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            if (!_realClock)
            {
                services.AddSingleton<TimeProvider>(Time);
            }

            TestServices?.Invoke(services);
        });
    }

    /// <summary>An HTTP client of the real server that sends the integrator's API key.</summary>
    public HttpClient Integrator => _integrator ??= NewClient(null, ApiKey);

    /// <summary>A real HTTP client with its own cookie jar.</summary>
    public HttpClient NewClient(CookieContainer? cookies, string? apiKey = null)
    {
        var handler = new SocketsHttpHandler { CookieContainer = cookies ?? new CookieContainer(), UseCookies = true, AllowAutoRedirect = false };
        var client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = Timeout };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return client;
    }

    /// <summary>Signs a staff member in; the returned cookie jar holds the auth cookie.</summary>
    public async Task<CookieContainer> SignInAsync(string email, string password)
    {
        var cookies = new CookieContainer();
        using var client = NewClient(cookies);
        var response = await client.PostAsJsonAsync("api/v1/auth/login", new { email, password });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(cookies.GetCookies(BaseAddress));
        return cookies;
    }

    /// <summary>A hub connection of a signed-in staff member (their cookie), or anonymous.</summary>
    public async Task<HubClient> ConnectAsync(CookieContainer? cookies = null)
    {
        var client = await HubClient.ConnectAsync(HubUrl, cookies);
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    public async Task<JsonArray> AuditAsync(Guid appointmentId) =>
        (await Integrator.GetFromJsonAsync<JsonArray>($"api/v1/appointments/{appointmentId}/audit"))!;

    public async Task<JsonObject> MinutesAsync(Guid appointmentId) =>
        (await Integrator.GetFromJsonAsync<JsonObject>($"api/v1/appointments/{appointmentId}/minutes"))!;

    public async Task<string> MetricsAsync()
    {
        using var client = NewClient(null);
        return await client.GetStringAsync("metrics");
    }

    /// <summary>Closes every hub connection made so far.</summary>
    public async Task DisposeClientsAsync()
    {
        List<HubClient> clients;
        lock (_clients)
        {
            clients = [.. _clients];
            _clients.Clear();
        }

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await DisposeClientsAsync();
        _integrator?.Dispose();
        await base.DisposeAsync();
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // left for the temp cleaner
        }
        catch (UnauthorizedAccessException)
        {
            // left for the temp cleaner
        }
    }
}
