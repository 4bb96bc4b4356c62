using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>
/// The files a clinic deploys with (compose.yaml, deploy/): the dashboard asks only for metrics the server has, no
/// secret value sits in a compose file, coturn refuses to relay anywhere private, and the shipped Caddyfile and coturn
/// configuration work in the real Caddy and coturn (Debian's, started here on loopback).
/// </summary>
public sealed partial class DeploymentFilesTests
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

    [Fact]
    public void The_cluster_file_runs_two_nodes_on_the_database_behind_a_sticky_proxy_each_with_its_own_address_and_media_port()
    {
        var cluster = YamlFile("compose.cluster.yaml");
        var first = Env(Service(cluster, "app"));
        var second = Env(Service(cluster, "app2"));
        Assert.Equal("true", first["Cluster__Enabled"]);
        Assert.Equal("true", second["Cluster__Enabled"]);

        // Each node announces its own fixed address on the internal network, inside that network's subnet.
        var subnet = System.Net.IPNetwork.Parse(((YamlScalarNode)((YamlMappingNode)Seq(Map(Map(Map(cluster, "networks"), "internal"), "ipam"), "config").First()).Children["subnet"]).Value!);
        var addresses = new[] { first["Cluster__AdvertisedAddress"], second["Cluster__AdvertisedAddress"] };
        Assert.Equal(2, addresses.Distinct().Count());
        Assert.All(addresses, a => Assert.True(subnet.Contains(IPAddress.Parse(a)), $"{a} is outside the internal network"));

        // The second node's media port is its own and published (the first keeps compose.yaml's 40000).
        Assert.Equal(second["Media__UdpPort"], second["Media__TcpPort"]);
        Assert.NotEqual("40000", second["Media__UdpPort"]);
        Assert.Contains(Ports(Service(cluster, "app2")), p => p.EndsWith($":{second["Media__UdpPort"]}:{second["Media__UdpPort"]}/udp", StringComparison.Ordinal));

        // The proxy spreads browsers over both nodes and keeps each on its node (SignalR's negotiate and socket meet).
        var proxy = Env(Service(cluster, "proxy"));
        Assert.Equal(["app:8080", "app2:8080"], proxy["APP_UPSTREAM"].Split(' '));
        Assert.StartsWith("cookie ", proxy["APP_LB_POLICY"], StringComparison.Ordinal);
        var caddyfile = File.ReadAllText(RepoFile("deploy/caddy/Caddyfile"));
        Assert.Contains("lb_policy {$APP_LB_POLICY:first}", caddyfile, StringComparison.Ordinal);
        Assert.Contains("health_uri /healthz", caddyfile, StringComparison.Ordinal);

        // Prometheus scrapes both nodes, each on the internal network.
        var config = Assert.Single(Seq(Service(cluster, "prometheus"), "volumes").Select(v => ((YamlScalarNode)v).Value!), v => v.EndsWith(":/etc/prometheus/prometheus.yml:ro", StringComparison.Ordinal));
        var scrape = Seq(YamlFile(config.Split(':')[0].TrimStart('.', '/')), "scrape_configs").Cast<YamlMappingNode>().Single();
        Assert.Equal(["app:8080", "app2:8080"], Seq(Seq(scrape, "static_configs").Cast<YamlMappingNode>().Single(), "targets").Select(t => ((YamlScalarNode)t).Value));
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
        ExternalProcess.Require("/usr/bin/turnserver", "coturn");
        var folder = Directory.CreateTempSubdirectory("teletherapy-turn-").FullName;
        using var certificate = new TestCertificate();
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var secretFile = Path.Combine(folder, "turn_secret");
        await File.WriteAllTextAsync(secretFile, secret + "\n");
        var port = ExternalProcess.FreeUdpAndTcpPort();
        var tlsPort = ExternalProcess.FreeTcpPort();
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
        ExternalProcess.Require("/usr/bin/caddy", "caddy");
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
        ExternalProcess.Require("/usr/bin/caddy", "caddy");
        var folder = Directory.CreateTempSubdirectory("teletherapy-caddy-").FullName;
        var httpPort = ExternalProcess.FreeTcpPort();
        var httpsPort = ExternalProcess.FreeTcpPort();
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
}
