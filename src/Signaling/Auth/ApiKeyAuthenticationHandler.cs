using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Teletherapy.Signaling.Api;
using Teletherapy.Signaling.Hosting;

namespace Teletherapy.Signaling.Auth;

/// <summary>Integrators: <c>X-Api-Key</c> checked against <c>Teletherapy:ApiKeys</c> in constant time.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<TeletherapyOptions> teletherapy) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(AuthSetup.ApiKeyHeader, out var values) || values.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var presented = Digest(values.ToString());
        var match = false;
        foreach (var key in teletherapy.Value.ApiKeys)
        {
            // Comparing fixed-length digests keeps the time independent of where the strings differ and of their lengths.
            match |= !string.IsNullOrEmpty(key) && CryptographicOperations.FixedTimeEquals(presented, Digest(key));
        }

        if (!match)
        {
            return Task.FromResult(AuthenticateResult.Fail("Invalid API key."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Role, AuthSetup.IntegratorRole), new Claim(ClaimTypes.Name, "integrator")], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ApiProblems.Problem(StatusCodes.Status401Unauthorized, ApiProblems.Unauthorized, "A valid X-Api-Key or a sign-in is required.").ExecuteAsync(Context);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiProblems.Problem(StatusCodes.Status403Forbidden, ApiProblems.Forbidden, "Not allowed with an API key.").ExecuteAsync(Context);

    private static byte[] Digest(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}
