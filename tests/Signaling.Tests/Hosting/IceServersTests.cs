using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>TURN credentials go only to signed-in people and holders of a good join link, for at most the session's length.</summary>
public sealed class IceServersTests
{
    private static Dictionary<string, string?> Turn(string? secret = "s3cret", string? secretFile = null, int lifetimeMinutes = 60) => new()
    {
        ["Teletherapy:Demo"] = "true",
        ["Turn:Urls:0"] = "turn:127.0.0.1:3478",
        ["Turn:Secret"] = secret,
        ["Turn:SecretFile"] = secretFile,
        ["Turn:CredentialLifetimeMinutes"] = lifetimeMinutes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task Anonymous_callers_and_bad_links_get_no_credentials()
    {
        using var server = new TestServer(Turn());
        using var client = server.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/ice-servers")).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/ice-servers") { Headers = { { "X-Join-Token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request)).StatusCode);
        using var huge = new HttpRequestMessage(HttpMethod.Get, "/api/v1/ice-servers") { Headers = { { "X-Join-Token", new string('A', 5000) } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(huge)).StatusCode);
    }

    [Fact]
    public async Task Signed_in_staff_get_credentials_in_the_shared_secret_scheme()
    {
        using var server = new TestServer(Turn());
        using var client = server.CreateClient();
        var demo = await DemoAsync(server, client);
        (await client.PostAsJsonAsync("/api/v1/auth/login", new { email = demo.GetProperty("therapistEmail").GetString(), password = demo.GetProperty("therapistPassword").GetString() })).EnsureSuccessStatusCode();

        var entry = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/v1/ice-servers")).EnumerateArray());

        Assert.Equal("turn:127.0.0.1:3478", entry.GetProperty("urls")[0].GetString());
        var (username, expiry) = UsernameOf(entry);
        Assert.InRange(expiry - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        Assert.Equal(Credential("s3cret", username), entry.GetProperty("credential").GetString());
    }

    [Fact]
    public async Task A_join_link_gets_credentials_until_its_session_room_closes()
    {
        using var server = new TestServer(Turn(lifetimeMinutes: 720));
        using var client = server.CreateClient();
        var demo = await DemoAsync(server, client);
        var joinUrl = demo.GetProperty("patientJoinUrl").GetString()!;
        var token = joinUrl[(joinUrl.LastIndexOf('/') + 1)..];
        var appointment = (await server.Services.GetRequiredService<JoinService>().ResolveJoinTokenAsync(token)).Appointment!;

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/ice-servers") { Headers = { { "X-Join-Token", token } } };
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var entry = Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray());

        // The demo appointment's room closes within a few hours: sooner than the 12-hour lifetime.
        Assert.True(appointment.ClosesAt < DateTimeOffset.UtcNow.AddHours(3));
        Assert.Equal(appointment.ClosesAt.ToUnixTimeSeconds(), UsernameOf(entry).Expiry.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task No_turn_configured_gives_a_signed_in_caller_an_empty_list()
    {
        using var server = new TestServer(new Dictionary<string, string?> { ["Teletherapy:Demo"] = "true" });
        using var client = server.CreateClient();
        var demo = await DemoAsync(server, client);
        (await client.PostAsJsonAsync("/api/v1/auth/login", new { email = demo.GetProperty("adminEmail").GetString(), password = demo.GetProperty("adminPassword").GetString() })).EnsureSuccessStatusCode();

        var servers = await client.GetFromJsonAsync<JsonElement>("/api/v1/ice-servers");

        Assert.Equal(0, servers.GetArrayLength());
    }

    [Fact]
    public async Task The_secret_can_come_from_a_file_and_a_missing_file_stops_the_start()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "from-a-file\n");
        try
        {
            using var server = new TestServer(Turn(secret: null, secretFile: file));
            using var client = server.CreateClient();
            var demo = await DemoAsync(server, client);
            (await client.PostAsJsonAsync("/api/v1/auth/login", new { email = demo.GetProperty("therapistEmail").GetString(), password = demo.GetProperty("therapistPassword").GetString() })).EnsureSuccessStatusCode();
            var entry = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/v1/ice-servers")).EnumerateArray());
            Assert.Equal(Credential("from-a-file", UsernameOf(entry).Username), entry.GetProperty("credential").GetString());
        }
        finally
        {
            File.Delete(file);
        }

        using var broken = new TestServer(Turn(secret: null, secretFile: file));
        var error = Assert.ThrowsAny<Exception>(() => broken.CreateClient());
        Assert.Contains("Turn:SecretFile", error.ToString(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> DemoAsync(TestServer server, HttpClient client)
    {
        _ = await client.GetAsync("/healthz"); // the host has started and seeded the demo
        return JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(server.DataPath, "demo.json"))).RootElement;
    }

    private static (string Username, DateTimeOffset Expiry) UsernameOf(JsonElement entry)
    {
        var username = entry.GetProperty("username").GetString()!;
        return (username, DateTimeOffset.FromUnixTimeSeconds(long.Parse(username.Split(':')[0], System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static string Credential(string secret, string username) =>
        Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username)));
}
