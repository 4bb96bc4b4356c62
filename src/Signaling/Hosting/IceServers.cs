using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Teletherapy.Signaling.Hosting;

/// <summary>An entry of RTCConfiguration.iceServers as the browser expects it.</summary>
internal sealed record IceServer(IReadOnlyList<string> Urls, string? Username, string? Credential);

/// <summary>
/// Time-limited TURN credentials in coturn's REST scheme: username = "expiry-unix-seconds:label",
/// credential = base64(HMAC-SHA1(secret, username)). The browser gets a fresh pair per request.
/// </summary>
internal static class IceServers
{
    public static IReadOnlyList<IceServer> For(TurnOptions options, TimeProvider time, string label)
    {
        if (options.Urls.Count == 0 || string.IsNullOrEmpty(options.Secret))
        {
            return [];
        }

        var expires = time.GetUtcNow().AddMinutes(options.CredentialLifetimeMinutes).ToUnixTimeSeconds();
        var username = $"{expires}:{label}";
#pragma warning disable CA5350 // coturn's REST credential scheme is defined on HMAC-SHA1; it authenticates, it does not encrypt.
        var credential = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(options.Secret), Encoding.UTF8.GetBytes(username)));
#pragma warning restore CA5350
        return [new IceServer([.. options.Urls], username, credential)];
    }

    public static IEndpointRouteBuilder MapIceServers(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/ice-servers", (IOptions<TurnOptions> turn, TimeProvider time) =>
                TypedResults.Ok(For(turn.Value, time, "webrtc")))
            .WithName("GetIceServers")
            .WithSummary("TURN servers with short-lived credentials for the browser's RTCPeerConnection (empty when none is configured).");
        return app;
    }
}
