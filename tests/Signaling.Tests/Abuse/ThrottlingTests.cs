using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.SignalR;
using Teletherapy.Signaling.Abuse;
using Teletherapy.Signaling.Sessions;
using Teletherapy.Signaling.Tests.Hosting;
using Teletherapy.Signaling.Tests.Sessions;

namespace Teletherapy.Signaling.Tests.Abuse;

/// <summary>The per-client limits, the per-account sign-in delay and lockout, and the size limits, on the real host.</summary>
public sealed class ThrottlingTests
{
    private const string Email = "ada@clinic.example";

    [Theory]
    [InlineData(1, 0)]
    [InlineData(3, 0)]
    [InlineData(4, 2)]
    [InlineData(5, 4)]
    [InlineData(9, 64)]
    [InlineData(10, 900)]
    [InlineData(25, 900)]
    public void Wrong_passwords_make_an_account_wait_longer_and_then_lock_it(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), SignInThrottle.WaitAfter(failures));

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    public void Clients_are_counted_by_IPv4_address_or_IPv6_64(string address, string partition) =>
        Assert.Equal(partition, ClientAddress.PartitionOf(IPAddress.Parse(address)));

    [Fact]
    public async Task An_account_with_wrong_passwords_is_slowed_then_locked_and_even_the_right_password_waits()
    {
        await using var server = await StartAsync();
        using var client = server.NewClient(new CookieContainer());

        for (var i = 0; i < SignInThrottle.FreeFailures; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, "wrong password")).StatusCode);
        }

        // The fourth wrong password in a row: the account must wait 2 s before the next try.
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, "wrong password")).StatusCode);
        var slowed = await LoginAsync(client, SessionScenario.Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, slowed.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), slowed.Headers.RetryAfter!.Delta);
        Assert.Equal("rate-limited", (await slowed.Content.ReadFromJsonAsync<JsonObject>())!["reason"]!.GetValue<string>());

        for (var failures = 5; failures <= SignInThrottle.LockoutFailures; failures++)
        {
            server.Time.Advance(SignInThrottle.WaitAfter(failures - 1));
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, "wrong password")).StatusCode);
        }

        // Locked for 15 minutes: the right password is refused too, and says when to come back.
        server.Time.Advance(TimeSpan.FromMinutes(14));
        var locked = await LoginAsync(client, SessionScenario.Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.InRange(locked.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 59, 61);

        server.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, SessionScenario.Password)).StatusCode);
        // A success clears the count: the next wrong password is an ordinary 401.
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, "wrong password")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, "wrong password")).StatusCode);
    }

    [Fact]
    public async Task Each_client_address_has_its_own_sign_in_allowance()
    {
        await using var server = await StartAsync(("Throttling:SignInsPerMinute", "3"));
        using var first = LoopbackClient.From("127.0.0.2", server.BaseAddress);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(first, "wrong password", $"x{i}@clinic.example")).StatusCode);
        }

        var refused = await LoginAsync(first, "wrong password", "y@clinic.example");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);

        using var second = LoopbackClient.From("127.0.0.3", server.BaseAddress);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(second, SessionScenario.Password)).StatusCode);
    }

    [Fact]
    public async Task Portal_links_answer_alike_for_known_and_unknown_addresses_and_reach_one_address_at_most_three_times_an_hour()
    {
        await using var server = await StartAsync(("Throttling:PortalLinksPerTenMinutes", "100"));
        const string contact = "lea.keller@example.org";
        (await server.Integrator.PostAsJsonAsync("api/v1/patients", new { name = "Lea Keller", contacts = new[] { new { name = "Lea Keller", email = contact, isPrimary = true } } })).EnsureSuccessStatusCode();
        using var client = server.NewClient(new CookieContainer());
        var before = Hits(await client.GetStringAsync("metrics"), "portal-link-per-email");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync("api/v1/portal/login-link", new { email = contact })).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync("api/v1/portal/login-link", new { email = $"stranger{i}@example.org" })).StatusCode);
        }

        // The queue drops two requests and the outbox writes three emails, in the background.
        var folder = Path.Combine(server.DataPath, "outbox");
        int Sent() => Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml").Count(f => File.ReadAllText(f).Contains(contact, StringComparison.Ordinal)) : 0;
        var until = DateTime.UtcNow.AddSeconds(15);
        while (Hits(await client.GetStringAsync("metrics"), "portal-link-per-email") < before + 2 || Sent() < 3)
        {
            Assert.True(DateTime.UtcNow < until, $"Expected 2 links dropped and 3 sent; {Sent()} sent so far.");
            await Task.Delay(100);
        }

        Assert.Equal(3, Sent());
        Assert.DoesNotContain(Directory.GetFiles(folder, "*.eml"), f => File.ReadAllText(f).Contains("stranger", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Portal_links_and_join_lookups_are_limited_per_client()
    {
        await using var server = await StartAsync(("Throttling:PortalLinksPerTenMinutes", "2"), ("Throttling:JoinLookupsPerMinute", "3"));
        using var client = server.NewClient(new CookieContainer());

        var links = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            links.Add((await client.PostAsJsonAsync("api/v1/portal/login-link", new { email = $"someone{i}@example.org" })).StatusCode);
        }

        var lookups = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            lookups.Add((await client.GetAsync("api/v1/join/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests], links);
        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], lookups);
    }

    [Fact]
    public async Task Hub_connections_calls_and_token_joins_are_limited_per_client()
    {
        await using var server = await StartAsync(
            ("Throttling:HubConnectionsPerClient", "2"), ("Throttling:HubCallsPerSecond", "2"), ("Throttling:JoinLookupsPerMinute", "3"));
        var first = await server.ConnectAsync();
        await server.ConnectAsync();

        // A third open connection from the same client is closed at once.
        var third = await HubClient.ConnectAsync(server.HubUrl, null);
        var closed = await Record.ExceptionAsync(() => third.CallAsync<JoinResult>("JoinWithToken", "AAAA"));
        Assert.NotNull(closed);
        await third.DisposeAsync();

        // Calls: a burst of twice the rate passes, the rest of the burst is refused and does nothing.
        var outcomes = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            try
            {
                var result = await first.CallAsync<JoinResult>("JoinWithToken", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
                outcomes.Add(result.Reason ?? "joined");
            }
            catch (HubException e)
            {
                outcomes.Add(e.Message.Contains("rate-limited", StringComparison.Ordinal) ? "rate-limited" : e.Message);
            }
        }

        // Three token lookups a minute, four calls a burst: not-found ×3, then the lookup limit, then the call limit.
        Assert.Equal(["not-found", "not-found", "not-found", "rate-limited", "rate-limited", "rate-limited", "rate-limited", "rate-limited"], outcomes);
    }

    [Fact]
    public async Task Bodies_over_the_limits_are_refused_before_they_are_read()
    {
        await using var server = await StartAsync();
        var body = JsonSerializer.Serialize(new { email = new string('a', 100 * 1024) + "@example.org" });
        using var anonymous = server.NewClient(new CookieContainer());
        // Expect: 100-continue, so the client sends a body only when asked: a refusal on the declared length comes
        // back before any of it is sent (else the server's early answer races the client's writes).
        anonymous.DefaultRequestHeaders.ExpectContinue = true;
        using var large = new StringContent(body, Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await anonymous.PostAsync("api/v1/portal/login-link", large)).StatusCode);

        // Signed in, 100 KB is allowed to reach validation (and is refused there as a bad email), 2 MB is not.
        using var staff = server.NewClient(await server.SignInAsync(Email, SessionScenario.Password));
        staff.DefaultRequestHeaders.ExpectContinue = true;
        using var allowed = new StringContent(JsonSerializer.Serialize(new { name = new string('a', 100 * 1024) }), Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await staff.PutAsync("api/v1/clinic", allowed)).StatusCode);
        using var huge = new StringContent(JsonSerializer.Serialize(new { name = new string('a', 2 * 1024 * 1024) }), Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await staff.PutAsync("api/v1/clinic", huge)).StatusCode);
    }

    [Fact]
    public async Task Hub_messages_over_64_KiB_close_the_connection()
    {
        await using var server = await StartAsync();
        var client = await server.ConnectAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => client.CallAsync<string>("Publish", new string('v', 70 * 1024)));

        Assert.Equal(Microsoft.AspNetCore.SignalR.Client.HubConnectionState.Disconnected, client.Connection.State);
    }

    private static async Task<HubServer> StartAsync(params (string Key, string Value)[] settings)
    {
        var server = new HubServer();
        foreach (var (key, value) in settings)
        {
            server.Settings[key] = value;
        }

        server.Start();
        (await server.Integrator.PutAsJsonAsync("api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = false })).EnsureSuccessStatusCode();
        (await server.Integrator.PostAsJsonAsync("api/v1/staff", new { name = "Dr. Ada Weber", email = Email, password = SessionScenario.Password, role = "admin" })).EnsureSuccessStatusCode();
        return server;
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string password, string email = Email) =>
        client.PostAsJsonAsync("api/v1/auth/login", new { email, password });

    private static double Hits(string metrics, string limit) =>
        metrics.Split('\n').Where(l => l.StartsWith($"teletherapy_throttled_total{{limit=\"{limit}\"}}", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
}
