using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Teletherapy.Signaling.Abuse;

/// <summary>The per-address limit an endpoint is under, by name (<see cref="AddressLimitConventions.RequireAddressLimit"/>).</summary>
internal sealed record AddressLimit(string Name);

/// <summary>
/// One named limit: how many requests an address may make in each window (read from the throttling options), and the
/// answer, given the time until its window ends, when it may make no more.
/// </summary>
internal sealed record AddressLimitPolicy(string Name, Func<ThrottlingOptions, int> Limit, TimeSpan Window, Func<HttpContext, TimeSpan, IResult> Refuse);

/// <summary>
/// The per-address limits on the anonymous doors: an endpoint names its limit in its metadata, and a request over it
/// gets the limit's refusal before the endpoint runs. Each limit counts in its own <see cref="FixedWindows"/>, one
/// window per <see cref="ClientAddress"/> partition (an IPv4 address, an IPv6 /64).
/// </summary>
internal sealed class AddressLimits
{
    private readonly Dictionary<string, (AddressLimitPolicy Policy, FixedWindows Windows)> _limits;
    private readonly ThrottlingOptions _options;

    public AddressLimits(IEnumerable<AddressLimitPolicy> policies, IOptions<ThrottlingOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _limits = policies.ToDictionary(p => p.Name, p => (p, new FixedWindows(time, p.Window)), StringComparer.Ordinal);
    }

    /// <summary>Adds limit <paramref name="name"/>, for endpoints that name it with <see cref="AddressLimitConventions.RequireAddressLimit"/>.</summary>
    public static void Add(IServiceCollection services, string name, Func<ThrottlingOptions, int> limit, TimeSpan window, Func<HttpContext, TimeSpan, IResult> refuse)
    {
        services.TryAddSingleton<AddressLimits>();
        services.AddSingleton(new AddressLimitPolicy(name, limit, window, refuse));
    }

    /// <summary>Refuses a request over its endpoint's limit (placed after routing has chosen the endpoint).</summary>
    public static void Use(WebApplication app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<AddressLimit>() is { } limit
                && context.RequestServices.GetRequiredService<AddressLimits>().Check(limit.Name, context) is { } refusal)
            {
                await refusal.ExecuteAsync(context);
                return;
            }

            await next(context);
        });

    /// <summary>Counts the request against its address's window: null when it may go on, else the refusal.</summary>
    public IResult? Check(string name, HttpContext context)
    {
        if (!_limits.TryGetValue(name, out var limit))
        {
            throw new InvalidOperationException($"No address limit is named '{name}'.");
        }

        var allowed = Math.Max(1, limit.Policy.Limit(_options));
        return limit.Windows.TryTake(ClientAddress.PartitionOf(context), allowed, out var retryAfter)
            ? null
            : limit.Policy.Refuse(context, retryAfter);
    }
}

internal static class AddressLimitConventions
{
    /// <summary>Puts the endpoint under the address limit <paramref name="name"/> (<see cref="AddressLimits"/>).</summary>
    public static TBuilder RequireAddressLimit<TBuilder>(this TBuilder builder, string name)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AddressLimit(name));
}
