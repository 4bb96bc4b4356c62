using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// HTTPS and the browser's protections: Kestrel's own certificate settings (<c>Kestrel:Certificates:Default:Path</c>
/// and <c>KeyPath</c>, PEM) or a TLS-terminating reverse proxy named in <c>ForwardedHeaders:KnownProxies</c> /
/// <c>KnownNetworks</c>; redirect to HTTPS and HSTS when the public origin is HTTPS; security headers on every response.
/// A configuration that would send http links from an https site stops the start with a clear message.
/// </summary>
internal static partial class WebSecurity
{
    public static WebApplicationBuilder AddWebSecurity(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var settings = HttpsSettings.From(config, SchedulingApi.PublicBaseUrl(config));
        settings.ThrowIfInconsistent();
        builder.Services.AddSingleton(settings);

        builder.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // Only the proxies named in the configuration are believed; ASP.NET's loopback default is dropped.
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var proxy in settings.KnownProxies)
            {
                o.KnownProxies.Add(proxy);
            }

            foreach (var network in settings.KnownNetworks)
            {
                o.KnownIPNetworks.Add(network);
            }
        });
        builder.Services.AddHsts(o =>
        {
            o.MaxAge = TimeSpan.FromDays(365);
            o.IncludeSubDomains = false;
        });
        return builder;
    }

    /// <summary>First in the pipeline: the client's address and scheme, HTTPS, then the headers.</summary>
    public static WebApplication UseWebSecurity(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<HttpsSettings>();
        if (settings.ProxyLooksUnconfigured)
        {
            LogUnnamedProxy(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebSecurity)), settings.PublicBaseUrl);
        }

        if (settings.BehindProxy)
        {
            app.UseForwardedHeaders();
        }

        if (settings.PublicOriginIsHttps)
        {
            app.UseHsts();
            if (settings.KestrelServesHttps)
            {
                app.UseHttpsRedirection();
            }
        }

        app.UseMiddleware<SecurityHeaders>();
        return app;
    }

    [LoggerMessage(EventId = 2610, Level = LogLevel.Warning,
        Message = "Links use {PublicBaseUrl} but this server serves plain HTTP and trusts no proxy: name the TLS-terminating proxy in ForwardedHeaders:KnownProxies (or KnownNetworks), or give Kestrel a certificate")]
    private static partial void LogUnnamedProxy(ILogger logger, string publicBaseUrl);
}

/// <summary>What the configuration says about HTTPS and proxies, read once at start.</summary>
internal sealed class HttpsSettings
{
    public bool KestrelServesHttps { get; private init; }

    /// <summary>True when <c>Teletherapy:PublicBaseUrl</c> was set explicitly.</summary>
    public bool PublicBaseUrlConfigured { get; private init; }

    /// <summary>The origin links point at (<c>Teletherapy:PublicBaseUrl</c>, or the first URL the server listens on).</summary>
    public string PublicBaseUrl { get; private init; } = "";

    public bool PublicOriginIsHttps => KestrelServesHttps || PublicBaseUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    public IReadOnlyList<IPAddress> KnownProxies { get; private init; } = [];

    public IReadOnlyList<System.Net.IPNetwork> KnownNetworks { get; private init; } = [];

    public bool BehindProxy => KnownProxies.Count > 0 || KnownNetworks.Count > 0;

    /// <summary>HTTPS is certain: Kestrel serves it, or a named proxy terminates it for an https public origin.</summary>
    public bool SecureCookiesOnly => KestrelServesHttps || (BehindProxy && PublicOriginIsHttps);

    /// <summary>An https public origin reached over plain HTTP from an unnamed proxy: cookies and client addresses would be wrong.</summary>
    public bool ProxyLooksUnconfigured => PublicOriginIsHttps && !KestrelServesHttps && !BehindProxy;

    public static HttpsSettings From(IConfiguration config, string publicBaseUrl)
    {
        var urls = (config["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(config.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"] ?? ""));
        var kestrelHttps = urls.Any(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(config["https_ports"]) || !string.IsNullOrEmpty(config["HTTPS_PORTS"]);
        return new HttpsSettings
        {
            KestrelServesHttps = kestrelHttps,
            PublicBaseUrl = publicBaseUrl,
            PublicBaseUrlConfigured = !string.IsNullOrEmpty(config["Teletherapy:PublicBaseUrl"]),
            KnownProxies = ParseAll<IPAddress>(config, "ForwardedHeaders:KnownProxies", (string text, out IPAddress value) => IPAddress.TryParse(text, out value!), "an IP address such as 10.0.0.5"),
            KnownNetworks = ParseAll<System.Net.IPNetwork>(config, "ForwardedHeaders:KnownNetworks", System.Net.IPNetwork.TryParse, "a network such as 172.30.0.0/24"),
        };
    }

    /// <summary>Links in emails must use the origin patients open; an https site must not hand out http links.</summary>
    public void ThrowIfInconsistent()
    {
        var publicBaseUrl = PublicBaseUrl;
        if (!Uri.TryCreate(publicBaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException($"Teletherapy:PublicBaseUrl '{publicBaseUrl}' is not an absolute http or https URL.");
        }

        if (KestrelServesHttps && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException(
                $"The server serves HTTPS but its links would be {publicBaseUrl}: set Teletherapy:PublicBaseUrl (Teletherapy__PublicBaseUrl) to the https address patients open.");
        }

        if (BehindProxy && !PublicBaseUrlConfigured)
        {
            throw new InvalidOperationException(
                "Behind a reverse proxy (ForwardedHeaders:KnownProxies/KnownNetworks) the server cannot guess the address patients open: set Teletherapy:PublicBaseUrl (Teletherapy__PublicBaseUrl), e.g. https://video.clinic.example.");
        }
    }

    private delegate bool TryParse<T>(string text, out T value);

    private static List<T> ParseAll<T>(IConfiguration config, string section, TryParse<T> parse, string example)
    {
        var list = new List<T>();
        foreach (var child in config.GetSection(section).GetChildren())
        {
            var text = child.Value?.Trim() ?? "";
            if (text.Length == 0)
            {
                continue;
            }

            list.Add(parse(text, out var value)
                ? value
                : throw new InvalidOperationException($"{child.Path} '{text}' is not {example}."));
        }

        return list;
    }
}
