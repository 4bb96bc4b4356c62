using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Api;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Hosting;

/// <summary>An entry of RTCConfiguration.iceServers as the browser expects it.</summary>
internal sealed record IceServer(IReadOnlyList<string> Urls, string? Username, string? Credential);

/// <summary>
/// Time-limited TURN credentials in coturn's REST scheme: username = "expiry-unix-seconds:label",
/// credential = base64(HMAC-SHA1(secret, username)). Handed only to signed-in people and holders of a good join
/// link, valid at most until the session's room closes (TURN checks the expiry on every allocation refresh).
/// </summary>
internal static class IceServers
{
    /// <summary>The header the join page sends its link's token in when it asks for TURN servers.</summary>
    public const string JoinTokenHeader = "X-Join-Token";

    /// <param name="until">When the credentials should stop working (the room's closing time); the configured lifetime caps it.</param>
    public static IReadOnlyList<IceServer> For(TurnOptions options, TimeProvider time, string label, DateTimeOffset? until = null)
    {
        var secret = options.Secret;
        if (options.Urls.Count == 0 || string.IsNullOrEmpty(secret))
        {
            return [];
        }

        var now = time.GetUtcNow();
        var longest = now.AddMinutes(options.CredentialLifetimeMinutes);
        var expires = until is { } end && end < longest ? end : longest;
        // A join just before the room closes still gets a few minutes to connect.
        expires = expires < now.AddMinutes(5) ? now.AddMinutes(5) : expires;
        var username = $"{expires.ToUnixTimeSeconds()}:{label}";
#pragma warning disable CA5350 // coturn's REST credential scheme is defined on HMAC-SHA1; it authenticates, it does not encrypt.
        var credential = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username)));
#pragma warning restore CA5350
        return [new IceServer([.. options.Urls], username, credential)];
    }

    public static IEndpointRouteBuilder MapIceServers(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/ice-servers", GetAsync)
            .Produces<IReadOnlyList<IceServer>>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithName("GetIceServers")
            .WithSummary($"TURN servers with short-lived credentials for the browser's RTCPeerConnection (empty when none is configured), for signed-in staff and contacts or the holder of a good join link in {JoinTokenHeader}.");
        return app;
    }

    private static async Task<IResult> GetAsync(HttpContext context, IOptions<TurnOptions> turn, TimeProvider time, JoinService join)
    {
        if (context.Request.Headers[JoinTokenHeader].ToString() is { Length: > 0 } token)
        {
            var check = token.Length <= 128 ? await join.ResolveJoinTokenAsync(token, context.RequestAborted) : null;
            return check is { Decision.Allowed: true, Appointment: { } appointment }
                ? TypedResults.Ok(For(turn.Value, time, appointment.Id.ToString("N"), appointment.ClosesAt))
                : ApiProblems.Problem(StatusCodes.Status401Unauthorized, ApiProblems.Unauthorized, "This join link is not valid.");
        }

        var user = context.User;
        if (user.StaffId() is { } staffId)
        {
            return TypedResults.Ok(For(turn.Value, time, staffId.ToString("N")));
        }

        if (user.ContactEmail() is not null)
        {
            return TypedResults.Ok(For(turn.Value, time, "contact"));
        }

        return user.Identity?.IsAuthenticated == true
            ? ApiProblems.Problem(StatusCodes.Status403Forbidden, ApiProblems.Forbidden, "TURN servers are for people who take part in sessions.")
            : ApiProblems.Problem(StatusCodes.Status401Unauthorized, ApiProblems.Unauthorized, "Sign in or open your join link first.");
    }
}
