using Teletherapy.MediaRelay.Hosting;
using Teletherapy.Signaling.Abuse;
using Teletherapy.MediaRelay;

using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Check;

/// <summary>The browser's offer for a connection test.</summary>
public sealed record ConnectionCheckRequest(string? Offer);

/// <summary>The relay's answer; the test ends by itself at <c>ExpiresAt</c>.</summary>
public sealed record ConnectionCheckStarted(string Id, string Answer, DateTimeOffset ExpiresAt, int MaxSeconds);

/// <summary>What the relay saw of a running test.</summary>
public sealed record ConnectionCheckStatus(string Id, bool Connected, long PacketsReceived, long PacketsReturned, bool Ended);

/// <summary>
/// The minimal signaling of the connection test (<c>/check</c>, also offered on the join page): open to anyone,
/// so it is rate-limited per client address and each test lasts at most <see cref="MaxTestDuration"/>.
/// </summary>
internal static class ConnectionCheckApi
{
    public const string RateLimitPolicy = "connection-check";

    /// <summary>README: at most 20 s a test.</summary>
    public static readonly TimeSpan MaxTestDuration = TimeSpan.FromSeconds(20);

    public static IServiceCollection AddConnectionCheck(this IServiceCollection services)
    {
        // Six tests a minute per address (IPv6: per /64, which one home holds) is plenty for a person and keeps the relay
        // safe from a script; the relay itself caps the tests running at once (Media:MaxConnectionTests*).
        AddressLimits.Add(services, RateLimitPolicy, _ => 6, TimeSpan.FromMinutes(1), static (context, _) =>
        {
            context.Response.Headers.RetryAfter = "60";
            return Results.Problem(
                title: "Too many connection tests",
                detail: "Please wait a minute before testing again.",
                statusCode: StatusCodes.Status429TooManyRequests,
                extensions: new Dictionary<string, object?> { ["reason"] = "rate-limited" });
        });
        return services;
    }

    public static IEndpointRouteBuilder MapConnectionCheck(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/check").WithTags("Connection test");
        group.MapPost("/", Start)
            .Produces<ConnectionCheckStarted>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireAddressLimit(RateLimitPolicy)
            .WithName("StartConnectionCheck")
            .WithSummary("Starts a connection test: the relay answers the browser's offer and sends its audio and video back for at most 20 s.");
        group.MapGet("/{id}", Status)
            .Produces<ConnectionCheckStatus>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("GetConnectionCheck")
            .WithSummary("What the relay saw of a connection test so far.");
        return app;
    }

    private static IResult Start(ConnectionCheckRequest request, MediaRelayService relay, HttpContext http)
    {
        if (string.IsNullOrWhiteSpace(request.Offer))
        {
            return ApiProblems.Invalid("offer", "An SDP offer is required.");
        }

        // The relay measures the offer (size, m-lines, simulcast layers) before it parses it.
        var start = relay.StartConnectionTest(request.Offer, MaxTestDuration, http.Connection.RemoteIpAddress);
        if (start.Test is not { } test)
        {
            return start.Limit switch
            {
                null or MediaLimits.SdpSize or MediaLimits.MediaSections or MediaLimits.SimulcastLayers =>
                    ApiProblems.Invalid("offer", start.Error ?? "The offer cannot be used."),
                _ => TooManyTests(http, start.Error),
            };
        }

        return TypedResults.Created(
            $"/api/v1/check/{test.Id}",
            new ConnectionCheckStarted(test.Id, test.Answer, test.ExpiresAt, (int)MaxTestDuration.TotalSeconds));
    }

    /// <summary>429: the relay runs as many tests as it allows (in all, or from this address); one ends within 20 s.</summary>
    private static IResult TooManyTests(HttpContext http, string? detail)
    {
        http.Response.Headers.RetryAfter = ((int)MaxTestDuration.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ApiProblems.Problem(
            StatusCodes.Status429TooManyRequests,
            "too-many-tests",
            "Too many connection tests",
            detail ?? "Please wait until a running test ends.");
    }

    private static IResult Status(string id, MediaRelayService relay)
    {
        var test = relay.FindConnectionTest(id);
        if (test is null)
        {
            return ApiProblems.NotFoundProblem("This connection test does not exist or has ended.");
        }

        return TypedResults.Ok(new ConnectionCheckStatus(test.Id, test.IsConnected, test.PacketsReceived, test.PacketsReturned, test.IsClosed));
    }
}
