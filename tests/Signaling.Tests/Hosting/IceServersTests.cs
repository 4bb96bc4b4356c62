using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Teletherapy.Signaling.Tests.Hosting;

public sealed class IceServersTests
{
    [Fact]
    public async Task No_turn_configured_gives_an_empty_list()
    {
        using var server = new TestServer();
        using var client = server.CreateClient();

        var servers = await client.GetFromJsonAsync<JsonElement>("/api/v1/ice-servers");

        Assert.Equal(0, servers.GetArrayLength());
    }

    [Fact]
    public async Task Turn_credentials_follow_the_shared_secret_scheme_and_expire()
    {
        using var server = new TestServer(new Dictionary<string, string?>
        {
            ["Turn:Urls:0"] = "turn:127.0.0.1:3478",
            ["Turn:Secret"] = "s3cret",
            ["Turn:CredentialLifetimeMinutes"] = "60",
        });
        using var client = server.CreateClient();

        var servers = await client.GetFromJsonAsync<JsonElement>("/api/v1/ice-servers");

        var entry = Assert.Single(servers.EnumerateArray());
        Assert.Equal("turn:127.0.0.1:3478", entry.GetProperty("urls")[0].GetString());
        var username = entry.GetProperty("username").GetString()!;
        var expiry = DateTimeOffset.FromUnixTimeSeconds(long.Parse(username.Split(':')[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(expiry - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        var expected = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes("s3cret"), Encoding.UTF8.GetBytes(username)));
        Assert.Equal(expected, entry.GetProperty("credential").GetString());
    }
}
