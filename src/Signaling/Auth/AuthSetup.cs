using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Teletherapy.Signaling.Api;

namespace Teletherapy.Signaling.Auth;

/// <summary>
/// Authentication: staff and portal contacts by cookie, integrators by <c>X-Api-Key</c>. A request with the header is
/// judged by the key alone. Anonymous or refused requests get a problem (401/403), never a redirect.
/// </summary>
internal static class AuthSetup
{
    public const string Scheme = "Teletherapy";
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string ApiKeyScheme = "ApiKey";
    public const string ApiKeyHeader = "X-Api-Key";

    public const string StaffRole = "staff";
    public const string ContactRole = "contact";
    public const string IntegratorRole = "integrator";

    /// <summary>Signed-in staff.</summary>
    public const string StaffPolicy = "Staff";

    /// <summary>Signed-in staff or an integrator with an API key.</summary>
    public const string StaffOrIntegratorPolicy = "StaffOrIntegrator";

    /// <summary>A patient or caregiver signed in to the portal.</summary>
    public const string ContactPolicy = "Contact";

    public static WebApplicationBuilder AddTeletherapyAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "Cookie or API key", o =>
                o.ForwardDefaultSelector = context => context.Request.Headers.ContainsKey(ApiKeyHeader) ? ApiKeyScheme : CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyScheme, null)
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = "teletherapy.auth";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(10);
                o.SlidingExpiration = true;
                o.Events.OnRedirectToLogin = context => ApiProblems.Problem(
                    StatusCodes.Status401Unauthorized, ApiProblems.Unauthorized, "Sign in first.").ExecuteAsync(context.HttpContext);
                o.Events.OnRedirectToAccessDenied = context => ApiProblems.Problem(
                    StatusCodes.Status403Forbidden, ApiProblems.Forbidden, "Not allowed for this account.").ExecuteAsync(context.HttpContext);
            });

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(StaffPolicy, p => p.RequireRole(StaffRole))
            .AddPolicy(StaffOrIntegratorPolicy, p => p.RequireRole(StaffRole, IntegratorRole))
            .AddPolicy(ContactPolicy, p => p.RequireRole(ContactRole));
        return builder;
    }

    public static ClaimsPrincipal StaffPrincipal(Guid staffId, string name, string email) =>
        new(new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, staffId.ToString("D")),
                new Claim(ClaimTypes.Name, name),
                new Claim(ClaimTypes.Email, email),
                new Claim(ClaimTypes.Role, StaffRole),
            ],
            CookieScheme));

    public static ClaimsPrincipal ContactPrincipal(string email) =>
        new(new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, email),
                new Claim(ClaimTypes.Email, email),
                new Claim(ClaimTypes.Role, ContactRole),
            ],
            CookieScheme));

    /// <summary>The signed-in staff member's id, or null (integrator, contact, anonymous).</summary>
    public static Guid? StaffId(this ClaimsPrincipal user) =>
        user.IsInRole(StaffRole) && Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null;

    /// <summary>The signed-in contact's email, or null.</summary>
    public static string? ContactEmail(this ClaimsPrincipal user) =>
        user.IsInRole(ContactRole) ? user.FindFirstValue(ClaimTypes.Email) : null;
}
