using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>Readers of the deployment files (YAML, the dashboard, Caddy's JSON) and the rules the tests apply to them.</summary>
public sealed partial class DeploymentFilesTests
{
    private static string RepositoryRoot() => RepositoryFolder.Root();

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
}
