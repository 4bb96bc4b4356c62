using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Prometheus;
using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// Per-client limits on the anonymous doors (ASP.NET Core's rate limiter, one partition per <see cref="ClientAddress"/>),
/// request body sizes, and the counter of every limit hit. A refusal is a 429 problem with <c>reason</c>
/// <c>rate-limited</c> and a <c>Retry-After</c> header.
/// </summary>
internal static class Throttling
{
    public const string SignIn = "sign-in";
    public const string PortalLink = "portal-link";
    public const string JoinLookup = "join-lookup";
    public const string HubConnect = "hub-connect";

    public static readonly Counter LimitsHit = Metrics.CreateCounter(
        "teletherapy_throttled_total", "Requests and calls refused by a limit, by limit.", "limit");

    public static IServiceCollection AddThrottling(this IServiceCollection services)
    {
        services.AddOptions<ThrottlingOptions>().BindConfiguration(ThrottlingOptions.SectionName);
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<HubLimits>();
        services.AddRateLimiter(o =>
        {
            o.AddPolicy(SignIn, new AddressPolicy(SignIn, t => t.SignInsPerMinute, TimeSpan.FromMinutes(1), "Too many sign-in attempts from your network."));
            o.AddPolicy(PortalLink, new AddressPolicy(PortalLink, t => t.PortalLinksPerTenMinutes, TimeSpan.FromMinutes(10), "Too many sign-in links were asked for from your network."));
            o.AddPolicy(JoinLookup, new AddressPolicy(JoinLookup, t => t.JoinLookupsPerMinute, TimeSpan.FromMinutes(1), "Too many join-link checks from your network."));
            o.AddPolicy(HubConnect, new AddressPolicy(HubConnect, t => t.HubConnectsPerMinute, TimeSpan.FromMinutes(1), "Too many connections from your network."));
        });
        return services;
    }

    /// <summary>Bodies: 64 KiB for anyone not signed in, 1 MiB for staff and integrators (after authentication).</summary>
    public static WebApplication UseBodyLimits(this WebApplication app)
    {
        var limits = app.Services.GetRequiredService<IOptions<ThrottlingOptions>>().Value;
        app.Use((context, next) =>
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = context.User.Identity?.IsAuthenticated == true ? limits.BodyBytes : limits.AnonymousBodyBytes;
            }

            return next(context);
        });
        return app;
    }

    /// <summary>A 429 problem for a limit, counted.</summary>
    public static IResult TooMany(string limit, string title, TimeSpan retryAfter, HttpContext context)
    {
        LimitsHit.WithLabels(limit).Inc();
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ApiProblems.Problem(StatusCodes.Status429TooManyRequests, "rate-limited", title, "Please try again later.",
            new Dictionary<string, object?> { ["retryAfterSeconds"] = seconds });
    }

    /// <summary>A fixed window per client address, with its own refusal message.</summary>
    private sealed class AddressPolicy(string name, Func<ThrottlingOptions, int> permits, TimeSpan window, string title) : IRateLimiterPolicy<string>
    {
        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = (rejected, _) =>
        {
            var retry = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : window;
            return new ValueTask(TooMany(name, title, retry, rejected.HttpContext).ExecuteAsync(rejected.HttpContext));
        };

        public RateLimitPartition<string> GetPartition(HttpContext httpContext)
        {
            var limit = permits(httpContext.RequestServices.GetRequiredService<IOptions<ThrottlingOptions>>().Value);
            return RateLimitPartition.GetFixedWindowLimiter(
                ClientAddress.PartitionOf(httpContext),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, limit), Window = window, QueueLimit = 0 });
        }
    }
}
