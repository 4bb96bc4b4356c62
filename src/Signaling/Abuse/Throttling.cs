using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Prometheus;
using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// Per-client limits on the anonymous doors (<see cref="AddressLimits"/>, one window per <see cref="ClientAddress"/>),
/// request body sizes, and the counter of every limit hit. A refusal is a 429 problem with <c>reason</c>
/// <c>rate-limited</c> and a <c>Retry-After</c> header.
/// </summary>
internal static class Throttling
{
    public const string SignIn = "sign-in";
    public const string PortalLink = "portal-link";
    public const string JoinLookup = "join-lookup";

    public static readonly Counter LimitsHit = Metrics.CreateCounter(
        "teletherapy_throttled_total", "Requests and calls refused by a limit, by limit.", "limit");

    public static IServiceCollection AddThrottling(this IServiceCollection services)
    {
        services.AddOptions<ThrottlingOptions>().BindConfiguration(ThrottlingOptions.SectionName);
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<HubLimits>();
        AddressLimits.Add(services, SignIn, t => t.SignInsPerMinute, TimeSpan.FromMinutes(1), Refusal(SignIn, "Too many sign-in attempts from your network."));
        AddressLimits.Add(services, PortalLink, t => t.PortalLinksPerTenMinutes, TimeSpan.FromMinutes(10), Refusal(PortalLink, "Too many sign-in links were asked for from your network."));
        AddressLimits.Add(services, JoinLookup, t => t.JoinLookupsPerMinute, TimeSpan.FromMinutes(1), Refusal(JoinLookup, "Too many join-link checks from your network."));
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

    /// <summary>The refusal of a limit: a counted 429 problem with its own title.</summary>
    private static Func<HttpContext, TimeSpan, IResult> Refusal(string limit, string title) =>
        (context, retryAfter) => TooMany(limit, title, retryAfter, context);
}
