using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Teletherapy.Signaling.Tests.Hosting;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The server as a clinic deploys it, with real servers from Debian on loopback: HTTPS on a name (clinic.test) with
/// the browser's protections, media forced through a real coturn, and a real nginx in front of the app.
/// </summary>
public sealed class DeploymentTests
{
    private static readonly string[] Pages = ["/", "/check", "/schedule/calendar", "/patients", "/settings/staff", "/portal"];

    [Fact(Timeout = 150_000)]
    public async Task The_demo_call_works_over_https_with_every_page_protected_and_no_csp_violation()
    {
        using var certificate = new TestCertificate();
        using var server = new LiveServer(Scenario.DemoSettings(), https: certificate);
        var demo = DemoInfo.Read(server.DataPath);
        await using var browser = await Browser.LaunchAsync(extraArgs: Browser.ClinicTestHost);
        var therapist = await browser.NewPageAsync();
        var patient = await browser.NewPageAsync();

        Assert.StartsWith("https://clinic.test:", server.BaseUrl, StringComparison.Ordinal);
        Assert.True(await therapist.GotoAsync(server.BaseUrl + "/") is { } first && first.Headers.ContainsKey("strict-transport-security"));
        await Scenario.AdmitDemoPatientAsync(therapist, patient, server, demo);
        Assert.True(await patient.EvaluateAsync<bool>("() => window.isSecureContext"));
        await Scenario.WaitForMediaAsync(patient);
        await Scenario.WaitForMediaAsync(therapist);

        // The session cookie is Secure, HttpOnly and SameSite=Strict.
        var cookie = Assert.Single(await browser.Context.CookiesAsync(), c => c.Name == "teletherapy.auth");
        Assert.True(cookie.Secure);
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);

        // Every page carries the headers (the signed-in therapist sees the staff pages).
        var headersPage = await browser.NewPageAsync();
        foreach (var path in Pages.Append($"/session/{demo.AppointmentId}").Append(demo.JoinPath))
        {
            var response = await headersPage.GotoAsync(server.BaseUrl + path);
            var headers = await response!.AllHeadersAsync();
            Assert.Contains("frame-ancestors 'none'", headers["content-security-policy"], StringComparison.Ordinal);
            Assert.Equal("no-referrer", headers["referrer-policy"]);
            Assert.Equal("nosniff", headers["x-content-type-options"]);
            Assert.Contains("camera=(self)", headers["permissions-policy"], StringComparison.Ordinal);
            Assert.StartsWith("max-age=", headers["strict-transport-security"], StringComparison.Ordinal);
        }

        // No page broke the policy (the browser closes with none reported), and the server counted no report. The
        // counting works: an inline script injected on purpose is blocked and reported.
        Assert.Empty(browser.CspViolations);
        var thumbprint = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(certificate.CertificatePath)).Thumbprint;
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Thumbprint == thumbprint });
        var metricsUrl = server.BaseUrl.Replace("clinic.test", "127.0.0.1", StringComparison.Ordinal) + "/metrics";
        Assert.Equal(0, Violations(await http.GetStringAsync(metricsUrl)));
        browser.ExpectCspViolations();
        await headersPage.GotoAsync(server.BaseUrl + "/check");
        await Assert.ThrowsAnyAsync<PlaywrightException>(() => headersPage.AddScriptTagAsync(new() { Content = "window.__inline = 1;" }));
        Assert.False(await headersPage.EvaluateAsync<bool>("() => window.__inline === 1"));
        var until = DateTime.UtcNow.AddSeconds(15);
        while (Violations(await http.GetStringAsync(metricsUrl)) == 0)
        {
            Assert.True(DateTime.UtcNow < until, "The blocked inline script was not reported to the server.");
            await Task.Delay(200);
        }
    }

    [Fact(Timeout = 150_000)]
    public async Task Media_goes_through_a_real_coturn_when_the_browser_may_only_relay()
    {
        var port = ExternalProcess.FreeTcpPort();
        const string secret = "e2e-turn-secret";
        ExternalProcess.Require("/usr/bin/turnserver", "coturn");
        using var turn = ExternalProcess.Start("/usr/bin/turnserver", [
            "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", $"--listening-port={port}", "--min-port=49160", "--max-port=49400",
            "--use-auth-secret", $"--static-auth-secret={secret}", "--realm=clinic.test", "--allow-loopback-peers",
            "--no-tls", "--no-dtls", "--no-cli", "--fingerprint", "--log-file=stdout", "--verbose", "--simple-log"]);
        await turn.WaitForTcpAsync(port);

        var settings = Scenario.DemoSettings();
        settings["Turn:Urls:0"] = $"turn:127.0.0.1:{port}?transport=udp";
        settings["Turn:Secret"] = secret;
        using var server = new LiveServer(settings);
        var demo = DemoInfo.Read(server.DataPath);
        await using var browser = await Browser.LaunchAsync();
        // Like a network that lets nothing through but TURN: every connection may use relay candidates only.
        await browser.Context.AddInitScriptAsync(
            """
            (() => {
              const Native = window.RTCPeerConnection;
              function RelayOnly(config, ...rest) { return new Native({ ...(config || {}), iceTransportPolicy: 'relay' }, ...rest); }
              RelayOnly.prototype = Native.prototype;
              Object.setPrototypeOf(RelayOnly, Native);
              window.RTCPeerConnection = RelayOnly;
            })();
            """);
        var therapist = await browser.NewPageAsync();
        var patient = await browser.NewPageAsync();

        await Scenario.AdmitDemoPatientAsync(therapist, patient, server, demo);
        await Scenario.WaitForMediaAsync(patient, 40_000);
        await Scenario.WaitForMediaAsync(therapist, 40_000);

        foreach (var page in new[] { patient, therapist })
        {
            foreach (var which in new[] { "publish", "subscribe" })
            {
                Assert.Equal("relay", await page.EvaluateAsync<string>(
                    $$"""
                    async () => {
                      const stats = await window.__teletherapy.{{which}}.getStats();
                      let pair = null;
                      stats.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
                      return pair ? stats.get(pair.localCandidateId).candidateType : 'none';
                    }
                    """));
            }
        }

        // coturn allocated relays for the server's time-limited usernames ("expiry:participant").
        Assert.Matches(new Regex(@"user <\d{10}:[^>]+>.*ALLOCATE processed, success"), turn.Output);
    }

    [Fact(Timeout = 60_000)]
    public async Task Behind_nginx_the_rate_limits_see_the_clients_address_not_the_proxys()
    {
        var proxyAddress = IPAddress.Parse("127.0.0.3");
        using var server = new LiveServer(new Dictionary<string, string?>
        {
            ["ForwardedHeaders:KnownProxies:0"] = proxyAddress.ToString(),
            ["Teletherapy:PublicBaseUrl"] = "https://clinic.test",
        });
        var app = new Uri(server.BaseUrl);
        var port = ExternalProcess.FreeTcpPort(proxyAddress);
        var folder = Directory.CreateTempSubdirectory("teletherapy-nginx-").FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "nginx.conf"),
            $$"""
            daemon off;
            master_process off;
            user root;
            pid {{folder}}/nginx.pid;
            error_log {{folder}}/error.log;
            events { worker_connections 64; }
            http {
              access_log off;
              client_body_temp_path {{folder}}/body;
              proxy_temp_path {{folder}}/proxy;
              fastcgi_temp_path {{folder}}/fastcgi;
              uwsgi_temp_path {{folder}}/uwsgi;
              scgi_temp_path {{folder}}/scgi;
              server {
                listen {{proxyAddress}}:{{port}};
                location / {
                  proxy_pass http://{{app.Host}}:{{app.Port}};
                  proxy_bind {{proxyAddress}};
                  proxy_set_header Host $host;
                  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                  proxy_set_header X-Forwarded-Proto $scheme;
                }
              }
            }
            """);
        ExternalProcess.Require("/usr/sbin/nginx", "nginx-light");
        using var nginx = ExternalProcess.Start("/usr/sbin/nginx", ["-p", folder, "-c", Path.Combine(folder, "nginx.conf")]);
        await nginx.WaitForTcpAsync(port, proxyAddress);
        var viaProxy = new Uri($"http://{proxyAddress}:{port}");

        // One client uses up the connection test's limit (6 a minute per address) through the proxy.
        using var first = LoopbackClient.From("127.0.0.2", viaProxy);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            statuses.Add((await first.PostAsJsonAsync("/api/v1/check", new { offer = "not sdp" })).StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.BadRequest, 6), HttpStatusCode.TooManyRequests], statuses);

        // Another client through the same proxy has its own allowance: the server sees each client's address.
        using var second = LoopbackClient.From("127.0.0.4", viaProxy);
        Assert.Equal(HttpStatusCode.BadRequest, (await second.PostAsJsonAsync("/api/v1/check", new { offer = "not sdp" })).StatusCode);

        // A client that is not the proxy cannot borrow an address by sending the header itself.
        using var direct = LoopbackClient.From("127.0.0.5", app);
        using var spoofed = new HttpRequestMessage(HttpMethod.Post, "/api/v1/check") { Content = JsonContent.Create(new { offer = "not sdp" }) };
        spoofed.Headers.Add("X-Forwarded-For", "127.0.0.2");
        Assert.Equal(HttpStatusCode.BadRequest, (await direct.SendAsync(spoofed)).StatusCode);
        Directory.Delete(folder, recursive: true);
    }

    private static double Violations(string metrics) =>
        metrics.Split('\n').Where(l => l.StartsWith("teletherapy_csp_violations_total{", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
}
