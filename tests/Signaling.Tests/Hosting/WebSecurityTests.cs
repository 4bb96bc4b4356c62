using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>HTTPS from Kestrel's settings, the browser's protections, cookies, keys that survive a restart, and safe start-up defaults.</summary>
public sealed class WebSecurityTests
{
    private static readonly string[] Paths =
        ["/", "/check", "/join/AAAA", "/schedule/calendar", "/session/00000000-0000-0000-0000-000000000000", "/portal", "/api/v1/setup", "/api/v1/ice-servers", "/healthz", "/metrics", "/no-such-page"];

    [Fact]
    public async Task Every_page_and_endpoint_carries_the_security_headers()
    {
        using var server = new TestServer();
        using var client = server.CreateClient();
        var failures = new List<string>();
        foreach (var path in Paths)
        {
            using var response = await client.GetAsync(path);
            var csp = Header(response, "Content-Security-Policy");
            void Expect(bool ok, string what)
            {
                if (!ok)
                {
                    failures.Add($"{path} ({(int)response.StatusCode}): {what}");
                }
            }

            Expect(csp.Contains("default-src 'self'", StringComparison.Ordinal) && csp.Contains("script-src 'self';", StringComparison.Ordinal)
                && csp.Contains("style-src 'self';", StringComparison.Ordinal) && csp.Contains("frame-ancestors 'none'", StringComparison.Ordinal)
                && csp.Contains("object-src 'none'", StringComparison.Ordinal) && !csp.Contains("unsafe", StringComparison.Ordinal), "CSP " + csp);
            Expect(Header(response, "X-Frame-Options") == "DENY", "X-Frame-Options");
            Expect(Header(response, "X-Content-Type-Options") == "nosniff", "nosniff");
            Expect(Header(response, "Referrer-Policy") == "no-referrer", "Referrer-Policy");
            var permissions = Header(response, "Permissions-Policy");
            Expect(permissions.Contains("camera=(self)", StringComparison.Ordinal) && permissions.Contains("microphone=(self)", StringComparison.Ordinal)
                && permissions.Contains("display-capture=(self)", StringComparison.Ordinal) && permissions.Contains("geolocation=()", StringComparison.Ordinal), "Permissions-Policy " + permissions);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task The_pages_have_no_inline_script_or_style_the_policy_would_block()
    {
        using var server = new TestServer();
        using var client = server.CreateClient();
        var html = await client.GetStringAsync("/");

        Assert.Contains("<script", html, StringComparison.Ordinal);
        foreach (System.Text.RegularExpressions.Match script in System.Text.RegularExpressions.Regex.Matches(html, "<script[^>]*>"))
        {
            Assert.Contains(" src=", script.Value, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("<style", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("style=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" on", System.Text.RegularExpressions.Regex.Replace(html, "<[^>]*\\son[a-z]+=", " on"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csp_reports_are_counted_by_directive()
    {
        using var server = new TestServer();
        using var client = server.CreateClient();

        // The counter is the process's, and other tests report script-src-elem meanwhile: this one reports a directive
        // no other test does.
        var before = await CountAsync(client, "worker-src");

        using var classic = new StringContent("""{"csp-report":{"document-uri":"https://clinic.test/join/secret","effective-directive":"worker-src","blocked-uri":"inline"}}""", System.Text.Encoding.UTF8, "application/csp-report");
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/v1/csp-reports", classic)).StatusCode);
        using var modern = new StringContent("""[{"type":"csp-violation","body":{"effectiveDirective":"worker-src"}},{"type":"csp-violation","body":{"effectiveDirective":"made-up <b>"}}]""", System.Text.Encoding.UTF8, "application/reports+json");
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/v1/csp-reports", modern)).StatusCode);
        using var junk = new StringContent("[1,2]", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/api/v1/csp-reports", junk)).StatusCode);
        using var huge = new StringContent(new string(' ', 20_000) + "{}", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await client.PostAsync("/api/v1/csp-reports", huge)).StatusCode);

        Assert.Equal(before + 2, await CountAsync(client, "worker-src"));
        var metrics = await client.GetStringAsync("/metrics");
        Assert.DoesNotContain("made-up", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Https_from_Kestrels_pem_settings_redirects_http_sends_hsts_and_secure_strict_cookies()
    {
        using var certificate = new TestCertificate();
        var data = NewDataFolder();
        using var host = new KestrelHost("https://127.0.0.1:0;http://127.0.0.1:0",
            [.. certificate.KestrelSettings, new("Teletherapy:DataPath", data), new("Teletherapy:PublicBaseUrl", "https://clinic.test")]);
        using var client = KestrelHost.ClientTrusting(await File.ReadAllTextAsync(certificate.CertificatePath));

        using var plain = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Http, "/check")) { Headers = { Host = "clinic.test" } };
        using var redirected = await client.SendAsync(plain);
        Assert.True(redirected.StatusCode is HttpStatusCode.TemporaryRedirect or HttpStatusCode.MovedPermanently or HttpStatusCode.PermanentRedirect, redirected.StatusCode.ToString());
        Assert.Equal($"https://clinic.test:{host.Https.Port}/check", redirected.Headers.Location!.ToString());

        using var page = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Https, "/check")) { Headers = { Host = "clinic.test" } };
        using var secure = await client.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, secure.StatusCode);
        Assert.StartsWith("max-age=", Header(secure, "Strict-Transport-Security"), StringComparison.Ordinal);

        var demo = await DemoAsync(data);
        using var login = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Https, "/api/v1/auth/login"))
        {
            Content = JsonContent.Create(new { email = demo.GetProperty("therapistEmail").GetString(), password = demo.GetProperty("therapistPassword").GetString() }),
        };
        using var signedIn = await client.SendAsync(login);
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        var cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("teletherapy.auth=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("; secure", cookie, StringComparison.Ordinal);
        Assert.Contains("; samesite=strict", cookie, StringComparison.Ordinal);
        Assert.Contains("; httponly", cookie, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://127.0.0.1:0", "http://clinic.test", null, "PublicBaseUrl")]
    [InlineData("http://127.0.0.1:0", "not a url", null, "PublicBaseUrl")]
    [InlineData("http://127.0.0.1:0", null, "10.0.0.5", "PublicBaseUrl")]
    [InlineData("http://127.0.0.1:0", "https://clinic.test", "proxy.example", "ForwardedHeaders:KnownProxies:0")]
    public void A_configuration_that_would_send_wrong_links_or_trust_nonsense_stops_the_start(string urls, string? publicBaseUrl, string? proxy, string expected)
    {
        using var server = new TestServer(new Dictionary<string, string?>
        {
            ["urls"] = urls,
            ["Teletherapy:PublicBaseUrl"] = publicBaseUrl,
            ["ForwardedHeaders:KnownProxies:0"] = proxy,
        });

        var error = Assert.ThrowsAny<Exception>(() => server.CreateClient());

        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signed_in_therapist_stays_signed_in_across_a_restart()
    {
        var data = NewDataFolder();
        string cookie;
        using (var first = new TestServer(new Dictionary<string, string?> { ["Teletherapy:DataPath"] = data, ["Teletherapy:Demo"] = "true" }))
        {
            cookie = await SignInAsync(first, await DemoAsync(data, first));
            Assert.Equal(HttpStatusCode.OK, await MeAsync(first, cookie));
        }

        using (var restarted = new TestServer(new Dictionary<string, string?> { ["Teletherapy:DataPath"] = data, ["Teletherapy:Demo"] = "true" }))
        {
            Assert.Equal(HttpStatusCode.OK, await MeAsync(restarted, cookie));
        }

        // Another installation (other keys) does not accept it: the check above can fail.
        using var other = new TestServer(new Dictionary<string, string?> { ["Teletherapy:Demo"] = "true" });
        _ = await DemoAsync(other.DataPath, other);
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(other, cookie));
    }

    [Fact]
    public async Task Nodes_on_one_PostgreSQL_database_share_their_keys()
    {
        var (_, database) = await TestDatabases.CreatePostgresAsync("tt_keys_");
        database.Pooling = false;
        var connectionString = database.ConnectionString;
        var settings = new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = connectionString, ["Teletherapy:Demo"] = "true" };
        using var first = new TestServer(settings);
        using var second = new TestServer(settings);
        var cookie = await SignInAsync(first, await DemoAsync(first.DataPath, first));

        Assert.Equal(HttpStatusCode.OK, await MeAsync(second, cookie));
    }

    [Fact]
    public async Task The_demo_is_off_in_the_servers_own_defaults_and_the_image()
    {
        using var server = new TestServer(new Dictionary<string, string?> { ["Teletherapy:Demo"] = null });
        using var client = server.CreateClient();

        var setup = await client.GetFromJsonAsync<JsonElement>("/api/v1/setup");

        Assert.True(setup.GetProperty("required").GetBoolean());
        Assert.False(File.Exists(Path.Combine(server.DataPath, "demo.json")));
        var root = RepositoryRoot();
        Assert.Matches(@"(?m)^\s+TELETHERAPY_DEMO=0\b", await File.ReadAllTextAsync(Path.Combine(root, "Dockerfile")));
        Assert.Contains("TELETHERAPY_DEMO=\"${TELETHERAPY_DEMO:-1}\"", await File.ReadAllTextAsync(Path.Combine(root, "run.sh")), StringComparison.Ordinal);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values) : "";

    private static async Task<double> CountAsync(HttpClient client, string directive)
    {
        var line = (await client.GetStringAsync("/metrics")).Split('\n')
            .FirstOrDefault(l => l.StartsWith($"teletherapy_csp_violations_total{{directive=\"{directive}\"}}", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string NewDataFolder() => Path.Combine(Path.GetTempPath(), "teletherapy-security-" + Guid.NewGuid().ToString("N"));

    private static async Task<JsonElement> DemoAsync(string dataPath, TestServer? server = null)
    {
        if (server is not null)
        {
            using var client = server.CreateClient();
            _ = await client.GetAsync("/healthz");
        }

        return JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dataPath, "demo.json"))).RootElement;
    }

    private static async Task<string> SignInAsync(TestServer server, JsonElement demo)
    {
        using var client = server.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = false });
        using var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = demo.GetProperty("therapistEmail").GetString(), password = demo.GetProperty("therapistPassword").GetString() });
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("teletherapy.auth=", StringComparison.Ordinal)).Split(';')[0];
    }

    private static async Task<HttpStatusCode> MeAsync(TestServer server, string cookie)
    {
        using var client = server.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/auth/me") { Headers = { { "Cookie", cookie } } };
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static string RepositoryRoot() => RepositoryFolder.Root();
}
