using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>
/// The files a clinic deploys with (compose.yaml, deploy/): the dashboard asks only for metrics the server has, no
/// secret value sits in a compose file, coturn refuses to relay anywhere private, and the shipped Caddyfile and coturn
/// configuration work in the real Caddy and coturn (Debian's, started here on loopback).
/// </summary>
public sealed class DeploymentFilesTests
{
    private static readonly string Root = RepositoryRoot();

    private static string RepoFile(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    // ---------------------------------------------------------------- the dashboard's metrics

    [Fact]
    public async Task Every_metric_the_dashboard_queries_is_one_the_server_exposes_or_defines()
    {
        using var server = new TestServer();
        using var client = server.CreateClient();
        var exposition = await client.GetStringAsync("/metrics");

        var catalog = new MetricCatalog();
        catalog.AddExposition(exposition);
        catalog.AddSources(RepoFile("src"));
        var jobs = ScrapeJobs();

        var queries = DashboardQueries();
        Assert.True(queries.Count >= 10, $"the dashboard has only {queries.Count} queries");
        var problems = new List<string>();
        foreach (var (panel, expr) in queries)
        {
            var query = PromQuery.Parse(expr);
            foreach (var name in query.MetricNames.Where(n => !catalog.Resolves(n)))
            {
                problems.Add($"unknown metric {name} in panel \"{panel}\": {expr}");
            }

            foreach (var label in query.LabelNames.Where(l => !catalog.LabelNames.Contains(l)))
            {
                problems.Add($"unknown label {label} in panel \"{panel}\": {expr}");
            }

            foreach (var (label, value) in query.EqualityMatchers)
            {
                var known = label == "job" ? jobs.Contains(value) : catalog.LabelValues.Contains(value);
                if (!known)
                {
                    problems.Add($"label value {label}=\"{value}\" in panel \"{panel}\" is neither a scrape job nor a string in src/: {expr}");
                }
            }
        }

        Assert.True(problems.Count == 0, "The dashboard asks for what the server does not have:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_query_reader_finds_misspelt_metrics_and_suffixes_that_do_not_exist()
    {
        // The check above is only as good as its reader: a typo, a gauge read as a histogram and a counter's family name
        // without _total must all be caught.
        var catalog = new MetricCatalog();
        catalog.AddExposition("""
            # TYPE teletherapy_sessions_active gauge
            teletherapy_sessions_active 0
            # TYPE teletherapy_dtls_handshake_seconds histogram
            teletherapy_dtls_handshake_seconds_bucket{le="0.1"} 0
            teletherapy_dtls_handshake_seconds_sum 0
            teletherapy_dtls_handshake_seconds_count 0
            """);
        catalog.AddSourceText("""Metrics.CreateCounter("teletherapy_relay_packets_forwarded_total", "Forwarded.");""");

        var names = PromQuery.Parse(
            "histogram_quantile(0.95, sum by (le) (rate(teletherapy_dtls_handshake_seconds_bucket[$__rate_interval]))) / 1e6 "
            + "+ teletherapy_sesions_active + teletherapy_sessions_active_count + rate(teletherapy_relay_packets_forwarded[5m]) "
            + "+ rate(teletherapy_relay_packets_forwarded_total{job=\"teletherapy\"}[1m])").MetricNames;

        Assert.Equal(
            new[] { "teletherapy_dtls_handshake_seconds_bucket", "teletherapy_relay_packets_forwarded", "teletherapy_relay_packets_forwarded_total", "teletherapy_sesions_active", "teletherapy_sessions_active_count" },
            names.Order(StringComparer.Ordinal));
        Assert.Equal(
            new[] { "teletherapy_relay_packets_forwarded", "teletherapy_sesions_active", "teletherapy_sessions_active_count" },
            names.Where(n => !catalog.Resolves(n)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Grafana_provisioning_wires_the_dashboard_to_the_provisioned_Prometheus_which_scrapes_the_app()
    {
        var datasources = YamlFile("deploy/grafana/provisioning/datasources/prometheus.yml");
        var sources = Seq(datasources, "datasources").Cast<YamlMappingNode>().ToList();
        var prometheus = Assert.Single(sources, s => Str(s, "type") == "prometheus");
        Assert.Equal("http://prometheus:9090", Str(prometheus, "url"));
        var uid = Str(prometheus, "uid");

        using var dashboard = JsonDocument.Parse(File.ReadAllText(RepoFile("deploy/grafana/dashboards/teletherapy.json")));
        var wrong = new List<string>();
        foreach (var panel in Panels(dashboard.RootElement).Where(p => p.TryGetProperty("targets", out _)))
        {
            var source = panel.GetProperty("datasource");
            if (source.GetProperty("uid").GetString() != uid)
            {
                wrong.Add(panel.GetProperty("title").GetString()!);
            }
        }

        Assert.True(wrong.Count == 0, $"panels not on the provisioned data source {uid}: {string.Join(", ", wrong)}");

        // The dashboards provider reads the folder compose.yaml mounts deploy/grafana/dashboards at.
        var providers = YamlFile("deploy/grafana/provisioning/dashboards/teletherapy.yml");
        var path = Str(Map(Seq(providers, "providers").Cast<YamlMappingNode>().Single(), "options"), "path");
        var grafana = Service(Compose(), "grafana");
        Assert.Contains($"./deploy/grafana/dashboards:{path}:ro", Seq(grafana, "volumes").Select(v => ((YamlScalarNode)v).Value));
        Assert.Contains("./deploy/grafana/provisioning:/etc/grafana/provisioning:ro", Seq(grafana, "volumes").Select(v => ((YamlScalarNode)v).Value));

        // Prometheus scrapes /metrics of the app service on its HTTP port, not through the public proxy.
        var scrape = Seq(YamlFile("deploy/prometheus/prometheus.yml"), "scrape_configs").Cast<YamlMappingNode>().Single();
        Assert.Equal("/metrics", Str(scrape, "metrics_path"));
        var targets = Seq(Seq(scrape, "static_configs").Cast<YamlMappingNode>().Single(), "targets").Select(t => ((YamlScalarNode)t).Value);
        Assert.Equal(new[] { "app:8080" }, targets);
    }

    // ---------------------------------------------------------------- compose.yaml

    [Fact]
    public void Compose_files_hold_no_secret_value_only_secret_files_and_required_variables()
    {
        var files = Directory.GetFiles(Root, "compose*.yaml").Concat(Directory.GetFiles(Root, "compose*.yml")).ToList();
        Assert.Contains(files, f => Path.GetFileName(f) == "compose.yaml");
        var problems = new List<string>();
        foreach (var file in files)
        {
            problems.AddRange(SecretProblems(Path.GetFileName(file), File.ReadAllText(file)));
        }

        Assert.True(problems.Count == 0, "Secret values where only files or required variables belong:\n" + string.Join("\n", problems));

        // The secret files are neither committed nor sent to the image build.
        Assert.Contains(File.ReadAllLines(RepoFile(".gitignore")), l => l.Trim() is "/secrets/" or "secrets/");
        Assert.Contains(File.ReadAllLines(RepoFile(".dockerignore")), l => l.Trim() is "secrets/" or "/secrets/" or "secrets");
    }

    [Fact]
    public void The_secret_rules_catch_literal_passwords_defaults_and_inline_secrets()
    {
        const string Leaky = """
            services:
              app:
                environment:
                  Smtp__Password: hunter2
                  ConnectionStrings__Postgres: Host=db;Password=${POSTGRES_PASSWORD:-changeme}
                  Teletherapy__ApiKeys__0: ${API_KEY:-}
                  Turn__SecretFile: /run/secrets/turn_secret
                command: ["--static-auth-secret=abc"]
            secrets:
              turn_secret:
                environment: TURN_SECRET
            """;
        var problems = SecretProblems("leaky.yaml", Leaky);

        Assert.Contains(problems, p => p.Contains("Smtp__Password", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("POSTGRES_PASSWORD", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("API_KEY", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("static-auth-secret", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("turn_secret", StringComparison.Ordinal) && p.Contains("file", StringComparison.Ordinal));
        Assert.Empty(SecretProblems("good.yaml", """
            services:
              app:
                environment:
                  Turn__SecretFile: /run/secrets/turn_secret
                  Smtp__Password: ${SMTP_PASSWORD:?set SMTP_PASSWORD}
                secrets: [turn_secret]
            secrets:
              turn_secret:
                file: ./secrets/turn_secret
            """));
    }

    [Fact]
    public void Compose_publishes_the_web_on_PUBLIC_IP_only_the_app_behind_the_proxy_and_monitoring_on_loopback()
    {
        var compose = Compose();
        var services = Map(compose, "services");
        Assert.Equal(new[] { "app", "db", "grafana", "prometheus", "proxy", "turn" }, services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Order(StringComparer.Ordinal));

        var proxy = Service(compose, "proxy");
        Assert.StartsWith("caddy:2", Str(proxy, "image"), StringComparison.Ordinal);
        var proxyPorts = Ports(proxy);
        Assert.Equal(2, proxyPorts.Count);
        Assert.All(proxyPorts, p => Assert.Matches(@"^\$\{PUBLIC_IP(:\?[^}]*)?\}:(80:80|443:443)/tcp$", p));
        Assert.Contains("./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro", Seq(proxy, "volumes").Select(v => ((YamlScalarNode)v).Value));

        // The app publishes media only; its HTTP port is reached through the proxy (and by Prometheus inside).
        var app = Service(compose, "app");
        Assert.Equal(new[] { "${PUBLIC_IP}:40000:40000/tcp", "${PUBLIC_IP}:40000:40000/udp" }, Ports(app).Order(StringComparer.Ordinal));
        var env = Env(app);
        Assert.Equal("http://+:8080", env["ASPNETCORE_URLS"]);
        Assert.Equal("0", env["TELETHERAPY_DEMO"]);
        Assert.StartsWith("https://${CLINIC_HOST", env["Teletherapy__PublicBaseUrl"], StringComparison.Ordinal);
        Assert.StartsWith("turn:${TURN_HOST", env["Turn__Urls__0"], StringComparison.Ordinal);
        Assert.EndsWith("}:3478?transport=udp", env["Turn__Urls__0"], StringComparison.Ordinal);
        Assert.Equal("turn:${TURN_HOST}:3478?transport=tcp", env["Turn__Urls__1"]);
        Assert.Equal("turns:${TURN_HOST}:443?transport=tcp", env["Turn__Urls__2"]);
        Assert.DoesNotContain("Password=", env["ConnectionStrings__Postgres"], StringComparison.OrdinalIgnoreCase);

        // Forwarded headers are believed from the network only the proxy shares with the app.
        var edge = Map(Map(compose, "networks"), "edge");
        var subnet = Str(Seq(Map(edge, "ipam"), "config").Cast<YamlMappingNode>().Single(), "subnet");
        Assert.Equal(subnet, env["ForwardedHeaders__KnownNetworks__0"]);
        var onEdge = services.Children.Where(s => Networks((YamlMappingNode)s.Value).Contains("edge")).Select(s => ((YamlScalarNode)s.Key).Value!).Order(StringComparer.Ordinal);
        Assert.Equal(new[] { "app", "proxy" }, onEdge);

        // The app's TURN secret is the very file coturn reads.
        Assert.Equal("/run/secrets/turn_secret", env["Turn__SecretFile"]);
        var turn = Service(compose, "turn");
        Assert.Contains("turn_secret", SecretNames(app));
        Assert.Contains("turn_secret", SecretNames(turn));
        Assert.Equal("host", Str(turn, "network_mode"));
        Assert.Contains("./deploy/coturn:/etc/coturn/teletherapy:ro", Seq(turn, "volumes").Select(v => ((YamlScalarNode)v).Value));
        Assert.Contains("/etc/coturn/teletherapy/start.sh", Seq(turn, "entrypoint").Select(v => ((YamlScalarNode)v).Value));

        foreach (var name in new[] { "prometheus", "grafana" })
        {
            Assert.All(Ports(Service(compose, name)), p => Assert.StartsWith("127.0.0.1:", p, StringComparison.Ordinal));
        }

        Assert.False(Service(compose, "db").Children.ContainsKey("ports"), "the database publishes no port");

        // Every file of this repository that compose mounts exists.
        foreach (var service in services.Children.Values.Cast<YamlMappingNode>())
        {
            foreach (var volume in Seq(service, "volumes").Select(v => ((YamlScalarNode)v).Value!).Where(v => v.StartsWith("./deploy/", StringComparison.Ordinal)))
            {
                var source = volume.Split(':')[0];
                Assert.True(File.Exists(RepoFile(source)) || Directory.Exists(RepoFile(source)), $"{source} is mounted but does not exist");
            }
        }
    }

    // ---------------------------------------------------------------- coturn

    [Fact]
    public void Coturn_denies_relaying_to_the_host_itself_private_link_local_and_CGNAT_ranges()
    {
        var config = File.ReadAllLines(RepoFile("deploy/coturn/turnserver.conf"));
        var deniedLines = config.Select(l => l.Trim()).Where(l => l.StartsWith("denied-peer-ip=", StringComparison.Ordinal)).Select(l => l["denied-peer-ip=".Length..]).ToList();
        var denied = deniedLines.Select(AddressRange.Parse).ToList();
        Assert.NotEmpty(denied);

        // coturn 4.6 reads a bound of "::" as any address: such a line refuses every peer, IPv4 included.
        var wildcard = deniedLines.Where(l => l.Split('-').Any(b => IPAddress.Parse(b.Trim()).Equals(IPAddress.IPv6Any))).ToList();
        Assert.True(wildcard.Count == 0, "coturn reads :: as any address: " + string.Join(", ", wildcard));

        string[] mustBeDenied =
        [
            "127.0.0.1", "127.255.255.254", "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.254", "10.0.0.1",
            "172.16.0.1", "172.31.255.254", "192.168.1.1", "192.0.0.8", "198.18.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250",
            "255.255.255.255", "::1", "fd00::1", "fc00::1", "fe80::1", "febf::1", "::ffff:127.0.0.1",
            "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "ff02::1",
        ];
        string[] mustBeAllowed = ["203.0.113.7", "198.51.100.20", "8.8.8.8", "100.63.255.255", "100.128.0.1", "172.32.0.1", "2001:db8::1", "2a00:1450::1"];

        var notDenied = mustBeDenied.Where(a => !denied.Any(r => r.Contains(IPAddress.Parse(a)))).ToList();
        var wronglyDenied = mustBeAllowed.Where(a => denied.Any(r => r.Contains(IPAddress.Parse(a)))).ToList();
        Assert.True(notDenied.Count == 0, "coturn would relay to " + string.Join(", ", notDenied));
        Assert.True(wronglyDenied.Count == 0, "coturn would refuse public peers " + string.Join(", ", wronglyDenied));

        // The policy file grants nothing back and holds no secret; those come from start.sh.
        var keys = config.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('=')[0]).ToHashSet();
        foreach (var required in new[] { "use-auth-secret", "no-tcp-relay", "no-multicast-peers", "no-cli", "fingerprint", "total-quota", "user-quota", "min-port", "max-port" })
        {
            Assert.Contains(required, keys);
        }

        foreach (var forbidden in new[] { "allowed-peer-ip", "allow-loopback-peers", "static-auth-secret", "cli-password", "user", "lt-cred-mech", "no-auth" })
        {
            Assert.DoesNotContain(forbidden, keys);
        }
    }

    [Fact]
    public async Task Coturn_starts_from_start_sh_with_the_secret_from_a_file_and_refuses_permissions_to_private_peers()
    {
        RequireTool("/usr/bin/turnserver", "coturn");
        var folder = Directory.CreateTempSubdirectory("teletherapy-turn-").FullName;
        using var certificate = new TestCertificate();
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var secretFile = Path.Combine(folder, "turn_secret");
        await File.WriteAllTextAsync(secretFile, secret + "\n");
        var port = FreeUdpAndTcpPort();
        var tlsPort = FreeTcpPort();
        var generated = Path.Combine(folder, "turnserver.conf");
        const string AppAddress = "198.51.100.20";

        var turn = ExternalProcess.Start("/bin/sh", [RepoFile("deploy/coturn/start.sh")], new Dictionary<string, string?>
        {
            ["TURN_IP"] = "127.0.0.1",
            ["TURN_HOST"] = "turn.test",
            ["PUBLIC_IP"] = AppAddress,
            ["TURN_PORT"] = port.ToString(),
            ["TURN_TLS_PORT"] = tlsPort.ToString(),
            ["TURN_SECRET_FILE"] = secretFile,
            ["TURN_CERT_FILE"] = certificate.CertificatePath,
            ["TURN_KEY_FILE"] = certificate.KeyPath,
            ["TURN_BASE_CONFIG"] = RepoFile("deploy/coturn/turnserver.conf"),
            ["TURN_CONFIG"] = generated,
        });
        try
        {
            await turn.WaitForTcpAsync(port);
            await turn.WaitForTcpAsync(tlsPort);

            var log = turn.Output;
            Assert.DoesNotContain("Bad configuration format", log, StringComparison.Ordinal);
            Assert.DoesNotContain("CONFIG ERROR", log, StringComparison.Ordinal);
            Assert.Contains("Certificate file found", log, StringComparison.Ordinal);

            // The secret is in a file only its owner reads, and in no process's arguments or environment.
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(generated));
            }

            Assert.Contains("static-auth-secret=" + secret + "\n", await File.ReadAllTextAsync(generated), StringComparison.Ordinal);
            var cmdline = await File.ReadAllTextAsync($"/proc/{turn.Id}/cmdline");
            Assert.Contains("turnserver", cmdline, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, cmdline, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, await File.ReadAllTextAsync($"/proc/{turn.Id}/environ"), StringComparison.Ordinal);

            // A TURN client with credentials derived from the secret, as the server derives them: private peers are
            // refused (403), public ones and the app's own address (allowed-peer-ip) are permitted.
            using var client = new TurnClient(new IPEndPoint(IPAddress.Loopback, port), secret);
            await client.AllocateAsync();
            Assert.Equal("turn.test", client.Realm);
            var results = new Dictionary<string, int>();
            foreach (var peer in new[] { "127.0.0.1", "169.254.169.254", "100.64.0.1", "10.0.0.1", "192.168.1.1", "172.17.0.1", AppAddress, "203.0.113.7" })
            {
                results[peer] = await client.CreatePermissionAsync(IPAddress.Parse(peer));
            }

            var summary = string.Join(", ", results.Select(r => $"{r.Key}: {r.Value}"));
            Assert.True(results.Where(r => r.Key is not AppAddress and not "203.0.113.7").All(r => r.Value == 403), "private peers must be refused: " + summary);
            Assert.True(results[AppAddress] == 200 && results["203.0.113.7"] == 200, "public peers must be permitted: " + summary);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException("coturn output:\n" + turn.Output, e);
        }
        finally
        {
            turn.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }

    // ---------------------------------------------------------------- Caddy

    [Fact]
    public void Caddyfile_adapts_to_https_for_the_clinic_host_proxied_to_the_app()
    {
        RequireTool("/usr/bin/caddy", "caddy");
        using var config = CaddyAdapt(new Dictionary<string, string?> { ["CLINIC_HOST"] = "video.clinic.example" });
        var servers = config.RootElement.GetProperty("apps").GetProperty("http").GetProperty("servers").EnumerateObject().Select(s => s.Value).ToList();
        var https = Assert.Single(servers, s => Listens(s, ":443"));
        var http = Assert.Single(servers, s => Listens(s, ":80"));

        var route = Assert.Single(https.GetProperty("routes").EnumerateArray());
        Assert.Equal("video.clinic.example", route.GetProperty("match")[0].GetProperty("host")[0].GetString());
        var handlers = Handlers(route).ToList();
        var proxy = Assert.Single(handlers, h => h.GetProperty("handler").GetString() == "reverse_proxy");
        Assert.Equal("app:8080", proxy.GetProperty("upstreams")[0].GetProperty("dial").GetString());

        // The app's own security headers pass untouched; Caddy only removes Server.
        var headerOps = handlers.Where(h => h.GetProperty("handler").GetString() == "headers").ToList();
        Assert.Contains(headerOps, h => h.TryGetProperty("response", out var r) && r.TryGetProperty("delete", out var d) && d.EnumerateArray().Any(x => x.GetString() == "Server"));
        var added = new List<string>();
        foreach (var op in headerOps.Where(h => h.TryGetProperty("response", out _)).Select(h => h.GetProperty("response")))
        {
            foreach (var kind in new[] { "set", "add" })
            {
                if (op.TryGetProperty(kind, out var headers))
                {
                    added.AddRange(headers.EnumerateObject().Select(p => p.Name));
                }
            }
        }

        Assert.True(added.Count == 0, "Caddy adds response headers: " + string.Join(", ", added));

        // /metrics stays internal; port 80 only redirects to HTTPS.
        Assert.Contains(Routes(route), r => r.TryGetProperty("match", out var m) && m.ToString().Contains("\"/metrics\"", StringComparison.Ordinal)
            && r.GetProperty("handle").EnumerateArray().Any(h => h.GetProperty("handler").GetString() == "static_response" && h.GetProperty("status_code").ToString() == "404"));
        var redirect = Assert.Single(Handlers(Assert.Single(http.GetProperty("routes").EnumerateArray())), h => h.GetProperty("handler").GetString() == "static_response");
        Assert.Equal("308", redirect.GetProperty("status_code").ToString());
        Assert.StartsWith("https://", redirect.GetProperty("headers").GetProperty("Location")[0].GetString(), StringComparison.Ordinal);

        // The clinic's own certificate, and extra global options, come from the environment without editing the file.
        using var own = CaddyAdapt(new Dictionary<string, string?>
        {
            ["CLINIC_HOST"] = "video.clinic.example",
            ["CLINIC_TLS"] = "tls /certs/cert.pem /certs/key.pem",
            ["CADDY_GLOBAL_OPTIONS"] = "email it@clinic.example\nadmin off",
            ["APP_UPSTREAM"] = "127.0.0.1:5080",
        });
        var files = own.RootElement.GetProperty("apps").GetProperty("tls").GetProperty("certificates").GetProperty("load_files")[0];
        Assert.Equal("/certs/cert.pem", files.GetProperty("certificate").GetString());
        Assert.Equal("/certs/key.pem", files.GetProperty("key").GetString());
        Assert.True(own.RootElement.GetProperty("admin").GetProperty("disabled").GetBoolean());
        Assert.Contains("\"dial\":\"127.0.0.1:5080\"", own.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Caddy_with_the_shipped_Caddyfile_serves_the_app_over_https_with_the_apps_headers_only()
    {
        RequireTool("/usr/bin/caddy", "caddy");
        var folder = Directory.CreateTempSubdirectory("teletherapy-caddy-").FullName;
        var httpPort = FreeTcpPort();
        var httpsPort = FreeTcpPort();
        using var app = new KestrelHost("http://127.0.0.1:0", new Dictionary<string, string?>
        {
            ["Teletherapy:DataPath"] = Path.Combine(folder, "app-data"),
            ["Teletherapy:Demo"] = "false",
            ["Teletherapy:PublicBaseUrl"] = $"https://clinic.test:{httpsPort}",
            ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1",
        });
        var caddy = ExternalProcess.Start("/usr/bin/caddy", ["run", "--config", RepoFile("deploy/caddy/Caddyfile"), "--adapter", "caddyfile"], new Dictionary<string, string?>
        {
            ["HOME"] = folder,
            ["XDG_DATA_HOME"] = Path.Combine(folder, "data"),
            ["XDG_CONFIG_HOME"] = Path.Combine(folder, "config"),
            ["CLINIC_HOST"] = "clinic.test",
            ["CLINIC_TLS"] = null,
            ["APP_UPSTREAM"] = $"127.0.0.1:{app.Http.Port}",
            ["CADDY_GLOBAL_OPTIONS"] = $"local_certs\nskip_install_trust\nadmin off\ndefault_bind 127.0.0.1\nhttp_port {httpPort}\nhttps_port {httpsPort}",
        });
        try
        {
            await caddy.WaitForTcpAsync(httpsPort);
            var root = X509Certificate2.CreateFromPem(await WaitForFileAsync(Path.Combine(folder, "data", "caddy", "pki", "authorities", "local", "root.crt")));
            using var client = ClinicTestClient(httpPort, httpsPort, root);

            using var page = await SendWithRetryAsync(client, $"https://clinic.test:{httpsPort}/check");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal(Version.Parse("2.0"), page.Version);
            foreach (var header in new[] { "Content-Security-Policy", "Strict-Transport-Security", "Referrer-Policy", "X-Content-Type-Options", "Permissions-Policy" })
            {
                // Exactly one value: the app's. HSTS at all means the app believed the proxy's X-Forwarded-Proto.
                Assert.True(page.Headers.TryGetValues(header, out var values) && values.Count() == 1, $"{header}: {(values is null ? "missing" : string.Join(" | ", values))}");
            }

            Assert.False(page.Headers.Contains("Server"), "Server: " + string.Join(",", page.Headers.TryGetValues("Server", out var s) ? s : []));

            using var metrics = await client.GetAsync(new Uri($"https://clinic.test:{httpsPort}/metrics"));
            Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
            Assert.DoesNotContain("teletherapy_", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var plain = await client.GetAsync(new Uri($"http://clinic.test:{httpPort}/join/AAAA?x=1"));
            Assert.Equal(HttpStatusCode.PermanentRedirect, plain.StatusCode);
            Assert.StartsWith("https://clinic.test", plain.Headers.Location!.ToString(), StringComparison.Ordinal);
            Assert.EndsWith("/join/AAAA?x=1", plain.Headers.Location!.ToString(), StringComparison.Ordinal);
            Assert.False(plain.Headers.Contains("Server"));
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException("caddy output:\n" + caddy.Output, e);
        }
        finally
        {
            caddy.Dispose();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    // ================================================================ helpers

    private static void RequireTool(string path, string package)
    {
        if (!File.Exists(path))
        {
            Assert.Fail($"{path} is missing: install it (apt-get install -y {package}); test.sh installs it before the tests run.");
        }
    }

    private static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Teletherapy.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("The repository root (Teletherapy.sln) was not found.");
    }

    private static List<(string Panel, string Expr)> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(RepoFile("deploy/grafana/dashboards/teletherapy.json")));
        var queries = new List<(string, string)>();
        foreach (var panel in Panels(dashboard.RootElement))
        {
            if (panel.TryGetProperty("targets", out var targets))
            {
                foreach (var target in targets.EnumerateArray())
                {
                    queries.Add((panel.GetProperty("title").GetString() ?? "", target.GetProperty("expr").GetString() ?? ""));
                }
            }
        }

        return queries;
    }

    private static IEnumerable<JsonElement> Panels(JsonElement container)
    {
        if (!container.TryGetProperty("panels", out var panels))
        {
            yield break;
        }

        foreach (var panel in panels.EnumerateArray())
        {
            yield return panel;
            foreach (var inner in Panels(panel))
            {
                yield return inner;
            }
        }
    }

    private static HashSet<string> ScrapeJobs() =>
        Seq(YamlFile("deploy/prometheus/prometheus.yml"), "scrape_configs").Cast<YamlMappingNode>().Select(c => Str(c, "job_name")).ToHashSet();

    // ---- YAML

    private static YamlMappingNode YamlFile(string relative) => YamlText(File.ReadAllText(RepoFile(relative)));

    private static YamlMappingNode YamlText(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Compose() => YamlFile("compose.yaml");

    private static YamlMappingNode Service(YamlMappingNode compose, string name) => Map(Map(compose, "services"), name);

    private static YamlMappingNode Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlMappingNode map ? map : throw new InvalidOperationException($"no mapping '{key}'");

    private static IEnumerable<YamlNode> Seq(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlSequenceNode seq ? seq.Children : [];

    private static string Str(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode s ? s.Value ?? "" : throw new InvalidOperationException($"no scalar '{key}'");

    private static List<string> Ports(YamlMappingNode service) => Seq(service, "ports").Select(p => ((YamlScalarNode)p).Value!).ToList();

    private static HashSet<string> Networks(YamlMappingNode service) =>
        service.Children.TryGetValue(new YamlScalarNode("networks"), out var value)
            ? value switch
            {
                YamlSequenceNode seq => seq.Children.Select(n => ((YamlScalarNode)n).Value!).ToHashSet(),
                YamlMappingNode map => map.Children.Keys.Select(n => ((YamlScalarNode)n).Value!).ToHashSet(),
                _ => [],
            }
            : [];

    /// <summary>The environment of a service, from either the mapping or the list form.</summary>
    private static Dictionary<string, string> Env(YamlMappingNode service)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!service.Children.TryGetValue(new YamlScalarNode("environment"), out var node))
        {
            return env;
        }

        if (node is YamlMappingNode map)
        {
            foreach (var (key, value) in map.Children)
            {
                env[((YamlScalarNode)key).Value!] = (value as YamlScalarNode)?.Value ?? "";
            }
        }
        else if (node is YamlSequenceNode list)
        {
            foreach (var item in list.Children.Select(i => ((YamlScalarNode)i).Value ?? ""))
            {
                var equals = item.IndexOf('=', StringComparison.Ordinal);
                env[equals < 0 ? item : item[..equals]] = equals < 0 ? "" : item[(equals + 1)..];
            }
        }

        return env;
    }

    /// <summary>The secrets a service mounts, by name and by the path each appears at.</summary>
    private static Dictionary<string, string> SecretMounts(YamlMappingNode service)
    {
        var mounts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in Seq(service, "secrets"))
        {
            var (source, target) = item switch
            {
                YamlScalarNode s => (s.Value!, s.Value!),
                YamlMappingNode m => (Str(m, "source"), m.Children.ContainsKey(new YamlScalarNode("target")) ? Str(m, "target") : Str(m, "source")),
                _ => throw new InvalidOperationException("unexpected secrets entry"),
            };
            mounts[target.StartsWith('/') ? target : "/run/secrets/" + target] = source;
        }

        return mounts;
    }

    private static HashSet<string> SecretNames(YamlMappingNode service) => SecretMounts(service).Values.ToHashSet(StringComparer.Ordinal);

    // ---- secrets in compose files

    private static readonly Regex SecretName = new("PASSWORD|PASSWD|SECRET|KEY|TOKEN", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>${NAME}, ${NAME:-default}, ${NAME:?message}, $NAME; a doubled $$ is a literal dollar for the container.</summary>
    private static readonly Regex Interpolation = new(@"(?<!\$)\$(?:\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?<op>:?[-?+])?(?<arg>[^}]*)\}|(?<name>[A-Za-z_][A-Za-z0-9_]*))", RegexOptions.CultureInvariant);

    private static readonly Regex InlineSecret = new(@"(?<name>[A-Za-z_-]*(?:password|passwd|pwd|secret|token|key))\s*[=:]\s*(?<value>[^;\s""',\]]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>
    /// What in a compose file could carry a secret value: an environment variable with a secret's name whose value is
    /// not a mounted secret file nor a required ${VAR:?}, a .env variable with a secret's name that has a default or is
    /// never required, a name=value pair inside any string (connection strings, command lines), or a top-level secret
    /// that is not a file.
    /// </summary>
    private static List<string> SecretProblems(string fileName, string text)
    {
        var problems = new List<string>();
        var root = YamlText(text);

        var required = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in Interpolation.Matches(text))
        {
            var name = m.Groups["name"].Value;
            var op = m.Groups["op"].Value;
            if (op is ":?" or "?")
            {
                required.Add(name);
            }

            if (SecretName.IsMatch(name) && op is ":-" or "-" or ":+" or "+")
            {
                problems.Add($"{fileName}: ${{{name}}} has a default ({m.Value}); a secret must be required (${{{name}:?...}}) or come from a secret file");
            }
        }

        foreach (Match m in Interpolation.Matches(text))
        {
            var name = m.Groups["name"].Value;
            if (SecretName.IsMatch(name) && !required.Contains(name))
            {
                problems.Add($"{fileName}: ${{{name}}} is never required with ${{{name}:?...}}");
            }
        }

        if (root.Children.TryGetValue(new YamlScalarNode("services"), out var servicesNode) && servicesNode is YamlMappingNode services)
        {
            foreach (var (key, value) in services.Children)
            {
                var serviceName = ((YamlScalarNode)key).Value;
                var service = (YamlMappingNode)value;
                var mounts = SecretMounts(service);
                foreach (var (name, envValue) in Env(service).Where(e => SecretName.IsMatch(e.Key)))
                {
                    var isMountedFile = mounts.ContainsKey(envValue);
                    var onlyRequiredVariables = Interpolation.Count(envValue) > 0
                        && Interpolation.Replace(envValue, m => m.Groups["op"].Value is ":?" or "?" ? "" : m.Value).Length == 0;
                    if (!isMountedFile && !onlyRequiredVariables)
                    {
                        problems.Add($"{fileName}: service {serviceName}: {name}={envValue} is neither a file from its secrets: nor a required ${{VAR:?...}}");
                    }
                }
            }
        }

        foreach (var scalar in root.AllNodes.OfType<YamlScalarNode>())
        {
            // A required variable stands as \u0001, any other as \u0002: only "name=\u0001" is acceptable.
            var masked = Interpolation.Replace(scalar.Value ?? "", m => m.Groups["op"].Value is ":?" or "?" ? "\u0001" : "\u0002");
            foreach (Match m in InlineSecret.Matches(masked))
            {
                if (m.Groups["value"].Value != "\u0001")
                {
                    problems.Add($"{fileName}: '{scalar.Value}' puts a secret value ({m.Groups["name"].Value}) into a string");
                }
            }
        }

        if (root.Children.TryGetValue(new YamlScalarNode("secrets"), out var secretsNode) && secretsNode is YamlMappingNode secrets)
        {
            foreach (var (key, value) in secrets.Children)
            {
                var definition = value as YamlMappingNode;
                var keys = definition?.Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToList() ?? [];
                if (definition is null || !keys.Contains("file") || keys.Any(k => k is not "file" and not "name"))
                {
                    problems.Add($"{fileName}: secret {((YamlScalarNode)key).Value} must be a file (file: ./secrets/...), not {string.Join(", ", keys)}");
                }
                else if (!Str(definition, "file").StartsWith("./secrets/", StringComparison.Ordinal))
                {
                    problems.Add($"{fileName}: secret {((YamlScalarNode)key).Value} is {Str(definition, "file")}, outside ./secrets/");
                }
            }
        }

        return problems;
    }

    // ---- Caddy

    private static JsonDocument CaddyAdapt(Dictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("/usr/bin/caddy")
        {
            ArgumentList = { "adapt", "--config", RepoFile("deploy/caddy/Caddyfile"), "--adapter", "caddyfile" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var name in new[] { "CLINIC_HOST", "CLINIC_TLS", "CADDY_GLOBAL_OPTIONS", "APP_UPSTREAM" })
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "caddy adapt did not finish");
        Assert.True(process.ExitCode == 0, $"caddy adapt failed ({process.ExitCode}): {stderr.Result}");
        Assert.DoesNotContain("\"level\":\"warn\"", stderr.Result, StringComparison.Ordinal);
        return JsonDocument.Parse(stdout);
    }

    private static bool Listens(JsonElement server, string address) => server.GetProperty("listen").EnumerateArray().Any(l => l.GetString() == address);

    /// <summary>Every route in a route and its subroutes.</summary>
    private static IEnumerable<JsonElement> Routes(JsonElement route)
    {
        yield return route;
        if (!route.TryGetProperty("handle", out var handlers))
        {
            yield break;
        }

        foreach (var handler in handlers.EnumerateArray().Where(h => h.TryGetProperty("routes", out _)))
        {
            foreach (var inner in handler.GetProperty("routes").EnumerateArray().SelectMany(Routes))
            {
                yield return inner;
            }
        }
    }

    private static IEnumerable<JsonElement> Handlers(JsonElement route) =>
        Routes(route).Where(r => r.TryGetProperty("handle", out _)).SelectMany(r => r.GetProperty("handle").EnumerateArray());

    /// <summary>An HTTP client that reaches clinic.test on loopback (as the browser's host-resolver rule would) and trusts Caddy's local CA only.</summary>
    private static HttpClient ClinicTestClient(int httpPort, int httpsPort, X509Certificate2 root) => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var port = context.DnsEndPoint.Port;
            Assert.True(context.DnsEndPoint.Host == "clinic.test" && (port == httpPort || port == httpsPort), $"unexpected connection to {context.DnsEndPoint}");
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, presented, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                if (presented is not null)
                {
                    foreach (var element in presented.ChainElements)
                    {
                        chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                    }
                }

                return chain.Build(new X509Certificate2(certificate));
            },
        },
    })
    {
        Timeout = TimeSpan.FromSeconds(20),
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    /// <summary>The first request may meet Caddy still obtaining its local certificate.</summary>
    private static async Task<HttpResponseMessage> SendWithRetryAsync(HttpClient client, string url)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                return await client.GetAsync(new Uri(url));
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }

    private static async Task<string> WaitForFileAsync(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{path} did not appear");
            await Task.Delay(100);
        }

        return await File.ReadAllTextAsync(path);
    }

    // ---- ports

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int FreeUdpAndTcpPort()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.Client.LocalEndPoint!).Port;
            try
            {
                using var tcp = new TcpListener(IPAddress.Loopback, port);
                tcp.Start();
                return port;
            }
            catch (SocketException) when (attempt < 20)
            {
            }
        }
    }
}

/// <summary>The metric names a server can expose: from a /metrics text and from the Metrics.Create… calls in the sources.</summary>
internal sealed partial class MetricCatalog
{
    private readonly HashSet<string> _samples = new(StringComparer.Ordinal);

    public HashSet<string> LabelNames { get; } = new(StringComparer.Ordinal) { "job", "instance", "le", "quantile" };

    /// <summary>Every string literal in the sources (label values such as a drop reason or a limit's name).</summary>
    public HashSet<string> LabelValues { get; } = new(StringComparer.Ordinal);

    public bool Resolves(string name) => _samples.Contains(name);

    public void AddExposition(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var type = TypeLine().Match(line);
            if (type.Success)
            {
                AddFamily(type.Groups[1].Value, type.Groups[2].Value);
                continue;
            }

            var sample = SampleLine().Match(line);
            if (sample.Success && !line.StartsWith('#'))
            {
                _samples.Add(sample.Groups[1].Value);
                foreach (Match label in LabelPair().Matches(sample.Groups[2].Value))
                {
                    LabelNames.Add(label.Groups[1].Value);
                }
            }
        }
    }

    public void AddSources(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
        {
            var parts = file.Split(Path.DirectorySeparatorChar);
            if (!parts.Contains("bin") && !parts.Contains("obj") && !parts.Contains("node_modules"))
            {
                AddSourceText(File.ReadAllText(file));
            }
        }
    }

    public void AddSourceText(string source)
    {
        foreach (Match literal in StringLiteral().Matches(source))
        {
            LabelValues.Add(literal.Groups[1].Value);
        }

        foreach (Match call in CreateCall().Matches(source))
        {
            var strings = StringLiteral().Matches(call.Groups[2].Value).Select(m => m.Groups[1].Value).ToList();
            if (strings.Count == 0)
            {
                continue;
            }

            AddFamily(strings[0], call.Groups[1].Value.ToLowerInvariant());
            foreach (var label in strings.Skip(2).Where(s => Identifier().IsMatch(s)))
            {
                LabelNames.Add(label);
            }
        }
    }

    /// <summary>The sample names Prometheus stores for a family of the given type.</summary>
    private void AddFamily(string family, string type)
    {
        switch (type)
        {
            case "histogram":
                _samples.Add(family + "_bucket");
                _samples.Add(family + "_sum");
                _samples.Add(family + "_count");
                break;
            case "summary":
                _samples.Add(family);
                _samples.Add(family + "_sum");
                _samples.Add(family + "_count");
                break;
            case "counter":
                _samples.Add(family.EndsWith("_total", StringComparison.Ordinal) ? family : family + "_total");
                break;
            default:
                _samples.Add(family);
                break;
        }
    }

    [GeneratedRegex(@"^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""")]
    private static partial Regex LabelPair();

    [GeneratedRegex(@"\.\s*Create(Counter|Gauge|Histogram|Summary)\s*\((.*?)\)\s*;", RegexOptions.Singleline)]
    private static partial Regex CreateCall();

    [GeneratedRegex(@"""((?:[^""\\\n]|\\.)*)""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex Identifier();
}

/// <summary>What a PromQL expression reads: metric names, label names it groups or matches by, and equality matchers.</summary>
internal sealed partial class PromQuery
{
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2", "start", "end",
    };

    public HashSet<string> MetricNames { get; } = new(StringComparer.Ordinal);

    public HashSet<string> LabelNames { get; } = new(StringComparer.Ordinal);

    public List<(string Label, string Value)> EqualityMatchers { get; } = [];

    public static PromQuery Parse(string expr)
    {
        var query = new PromQuery();

        // Label matchers: {name="value", other=~"re"}.
        var text = Selector().Replace(expr, m =>
        {
            foreach (Match matcher in Matcher().Matches(m.Groups[1].Value))
            {
                query.LabelNames.Add(matcher.Groups[1].Value);
                if (matcher.Groups[2].Value is "=" or "!=")
                {
                    query.EqualityMatchers.Add((matcher.Groups[1].Value, matcher.Groups[3].Value));
                }
            }

            return " ";
        });

        // Grouping: by (a, b), without (c), on (d), ignoring (e), group_left (f).
        text = Grouping().Replace(text, m =>
        {
            foreach (var label in m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                query.LabelNames.Add(label);
            }

            return " ";
        });

        text = StringLiteral().Replace(text, " ");
        text = RangeOrSubquery().Replace(text, " ");
        text = GrafanaVariable().Replace(text, " ");
        text = Number().Replace(text, " ");
        foreach (Match identifier in IdentifierNotCalled().Matches(text))
        {
            if (!Keywords.Contains(identifier.Groups[1].Value))
            {
                query.MetricNames.Add(identifier.Groups[1].Value);
            }
        }

        return query;
    }

    [GeneratedRegex(@"\{([^}]*)\}")]
    private static partial Regex Selector();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Matcher();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", RegexOptions.IgnoreCase)]
    private static partial Regex Grouping();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""|'(?:[^'\\]|\\.)*'")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex RangeOrSubquery();

    [GeneratedRegex(@"\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?")]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"(?<![a-zA-Z0-9_:])(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)")]
    private static partial Regex Number();

    [GeneratedRegex(@"(?<![a-zA-Z0-9_:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?!\s*\()(?![a-zA-Z0-9_:])")]
    private static partial Regex IdentifierNotCalled();
}

/// <summary>A coturn address range: "a" or "a-b", IPv4 or IPv6 (IPv4-mapped IPv6 stays IPv6, as coturn keeps it).</summary>
internal sealed record AddressRange(AddressFamily Family, BigInteger First, BigInteger Last)
{
    public static AddressRange Parse(string text)
    {
        var parts = text.Trim().Split('-', 2);
        var first = IPAddress.Parse(parts[0].Trim());
        var last = parts.Length == 2 ? IPAddress.Parse(parts[1].Trim()) : first;
        if (first.AddressFamily != last.AddressFamily)
        {
            throw new FormatException($"mixed families in {text}");
        }

        var range = new AddressRange(first.AddressFamily, Value(first), Value(last));
        return range.First <= range.Last ? range : throw new FormatException($"empty range {text}");
    }

    public bool Contains(IPAddress address) => address.AddressFamily == Family && Value(address) >= First && Value(address) <= Last;

    private static BigInteger Value(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);
}

/// <summary>A program started for one test, its output kept; killed with its children on dispose.</summary>
internal sealed class ExternalProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ExternalProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ExternalProcess Start(string file, IEnumerable<string> arguments, IDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = start };
        var external = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => external.Append(e.Data);
        process.ErrorDataReceived += (_, e) => external.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return external;
    }

    public async Task WaitForTcpAsync(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{_process.StartInfo.FileName} exited with {_process.ExitCode}:\n{Output}");
            }

            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

/// <summary>
/// Just enough of a TURN client (RFC 5766, long-term credentials of coturn's use-auth-secret) to allocate and ask for
/// permissions over UDP on loopback. A permission sends nothing to the peer: coturn answers from its policy alone.
/// </summary>
internal sealed class TurnClient : IDisposable
{
    private const uint MagicCookie = 0x2112A442;
    private const ushort Allocate = 0x0003;
    private const ushort CreatePermission = 0x0008;
    private const ushort AttrUsername = 0x0006;
    private const ushort AttrMessageIntegrity = 0x0008;
    private const ushort AttrErrorCode = 0x0009;
    private const ushort AttrRealm = 0x0014;
    private const ushort AttrNonce = 0x0015;
    private const ushort AttrXorPeerAddress = 0x0012;
    private const ushort AttrRequestedTransport = 0x0019;

    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly IPEndPoint _server;
    private readonly string _username;
    private readonly string _password;
    private byte[] _nonce = [];
    private byte[] _key = [];

    public TurnClient(IPEndPoint server, string secret)
    {
        _server = server;
        // The server's derivation (and coturn's): username "expiry:id", password base64(HMAC-SHA1(secret, username)).
        _username = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds() + ":deployment-test";
        _password = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(_username)));
    }

    public string Realm { get; private set; } = "";

    public async Task AllocateAsync()
    {
        var transport = new byte[] { 17, 0, 0, 0 };
        var (status, attributes) = await RoundTripAsync(Allocate, [(AttrRequestedTransport, transport)], authenticate: false);
        Assert.Equal(401, status);
        Realm = Encoding.UTF8.GetString(attributes[AttrRealm]);
        _nonce = attributes[AttrNonce];
        _key = MD5.HashData(Encoding.UTF8.GetBytes($"{_username}:{Realm}:{_password}"));
        (status, _) = await RoundTripAsync(Allocate, [(AttrRequestedTransport, transport)], authenticate: true);
        Assert.True(status == 200, $"Allocate with derived credentials answered {status}");
    }

    /// <summary>200 when coturn grants the permission, else its error code (403: the peer is forbidden).</summary>
    public async Task<int> CreatePermissionAsync(IPAddress peer)
    {
        var value = new byte[8];
        value[1] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(2), (ushort)(3478 ^ (MagicCookie >> 16)));
        var address = peer.GetAddressBytes();
        for (var i = 0; i < 4; i++)
        {
            value[4 + i] = (byte)(address[i] ^ (byte)(MagicCookie >> (24 - (8 * i))));
        }

        var (status, _) = await RoundTripAsync(CreatePermission, [(AttrXorPeerAddress, value)], authenticate: true);
        return status;
    }

    public void Dispose() => _udp.Dispose();

    private async Task<(int Status, Dictionary<ushort, byte[]> Attributes)> RoundTripAsync(ushort method, List<(ushort Type, byte[] Value)> attributes, bool authenticate)
    {
        var transaction = RandomNumberGenerator.GetBytes(12);
        if (authenticate)
        {
            attributes.Add((AttrUsername, Encoding.UTF8.GetBytes(_username)));
            attributes.Add((AttrRealm, Encoding.UTF8.GetBytes(Realm)));
            attributes.Add((AttrNonce, _nonce));
        }

        using var message = new MemoryStream();
        message.Write(new byte[20]);
        foreach (var (type, value) in attributes)
        {
            WriteAttribute(message, type, value);
        }

        var bytes = message.ToArray();
        if (authenticate)
        {
            // The length covers the MESSAGE-INTEGRITY attribute while its HMAC is computed over what comes before it.
            WriteHeader(bytes, method, bytes.Length - 20 + 24, transaction);
            var hmac = HMACSHA1.HashData(_key, bytes);
            using var withIntegrity = new MemoryStream();
            withIntegrity.Write(bytes);
            WriteAttribute(withIntegrity, AttrMessageIntegrity, hmac);
            bytes = withIntegrity.ToArray();
        }
        else
        {
            WriteHeader(bytes, method, bytes.Length - 20, transaction);
        }

        for (var attempt = 0; attempt < 5; attempt++)
        {
            await _udp.SendAsync(bytes, _server);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                while (true)
                {
                    var answer = (await _udp.ReceiveAsync(timeout.Token)).Buffer;
                    if (answer.Length >= 20 && answer.AsSpan(8, 12).SequenceEqual(transaction))
                    {
                        return Read(answer);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        throw new TimeoutException($"no TURN answer to method 0x{method:x4}");
    }

    private static void WriteHeader(byte[] bytes, ushort type, int length, byte[] transaction)
    {
        BinaryPrimitives.WriteUInt16BigEndian(bytes, type);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)length);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), MagicCookie);
        transaction.CopyTo(bytes, 8);
    }

    private static void WriteAttribute(MemoryStream stream, ushort type, byte[] value)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(header, type);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)value.Length);
        stream.Write(header);
        stream.Write(value);
        stream.Write(new byte[(4 - (value.Length % 4)) % 4]);
    }

    private static (int Status, Dictionary<ushort, byte[]> Attributes) Read(byte[] message)
    {
        var type = BinaryPrimitives.ReadUInt16BigEndian(message);
        var attributes = new Dictionary<ushort, byte[]>();
        var offset = 20;
        while (offset + 4 <= message.Length)
        {
            var attributeType = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset));
            var length = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2));
            if (offset + 4 + length > message.Length)
            {
                break;
            }

            attributes.TryAdd(attributeType, message.AsSpan(offset + 4, length).ToArray());
            offset += 4 + length + ((4 - (length % 4)) % 4);
        }

        // Class bits: 0x0100 success, 0x0110 error.
        var isError = (type & 0x0110) == 0x0110;
        if (!isError)
        {
            return (200, attributes);
        }

        var error = attributes[AttrErrorCode];
        return ((error[2] & 0x07) * 100 + error[3], attributes);
    }
}
