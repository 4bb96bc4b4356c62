using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Teletherapy.Scheduling.Access;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Signaling.Api;
using Teletherapy.Signaling.Hosting;

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

    /// <summary>Signed-in staff (any role).</summary>
    public const string StaffPolicy = "Staff";

    /// <summary>Clinic settings and staff accounts: signed-in admins and integrators.</summary>
    public const string AdminPolicy = "Admin";

    /// <summary>Adding and editing patients: admins, schedulers and integrators.</summary>
    public const string ManagePatientsPolicy = "ManagePatients";

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
                // Strict: no cross-site request carries it (the pages' own requests do, also after arriving from an email link).
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(10);
                o.SlidingExpiration = true;
                o.Events.OnRedirectToLogin = context => ApiProblems.Problem(
                    StatusCodes.Status401Unauthorized, ApiProblems.Unauthorized, "Sign in first.").ExecuteAsync(context.HttpContext);
                o.Events.OnRedirectToAccessDenied = context => ApiProblems.Problem(
                    StatusCodes.Status403Forbidden, ApiProblems.Forbidden, "Your role does not have this right.").ExecuteAsync(context.HttpContext);
                o.Events.OnValidatePrincipal = StaffSessions.ValidateAsync;
            });

        // Under HTTPS (Kestrel's or a named proxy's) the cookie is Secure whatever the request looked like.
        builder.Services.AddOptions<CookieAuthenticationOptions>(CookieScheme).Configure<HttpsSettings>((o, https) =>
        {
            if (https.SecureCookiesOnly)
            {
                o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            }
        });

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(StaffPolicy, p => p.RequireRole(StaffRole))
            .AddPolicy(AdminPolicy, p => p.RequireRole(StaffRoles.Admin, IntegratorRole))
            .AddPolicy(ManagePatientsPolicy, p => p.RequireRole(StaffRoles.Admin, StaffRoles.Scheduler, IntegratorRole))
            .AddPolicy(StaffOrIntegratorPolicy, p => p.RequireRole(StaffRole, IntegratorRole))
            .AddPolicy(ContactPolicy, p => p.RequireRole(ContactRole));
        return builder;
    }

    /// <summary>A staff member's cookie principal: the role claims are <c>staff</c> and the account's role (read afresh on each request).</summary>
    public static ClaimsPrincipal StaffPrincipal(StaffIdentity staff) =>
        new(new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, staff.Id.ToString("D")),
                new Claim(ClaimTypes.Name, staff.Name),
                new Claim(ClaimTypes.Email, staff.Email),
                new Claim(ClaimTypes.Role, StaffRole),
                new Claim(ClaimTypes.Role, staff.Role),
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

    /// <summary>The signed-in staff member's role (admin, scheduler, therapist), or null.</summary>
    public static string? RoleOfStaff(this ClaimsPrincipal user) =>
        user.IsInRole(StaffRole) ? StaffRoles.All.FirstOrDefault(user.IsInRole) : null;

    /// <summary>Who calls the REST API for the rights table: a staff member with a role, or an integrator (as admin); null otherwise.</summary>
    public static Caller? Caller(this ClaimsPrincipal user)
    {
        if (user.IsInRole(IntegratorRole))
        {
            return Scheduling.Access.Caller.Integrator;
        }

        return user.StaffId() is { } id && user.RoleOfStaff() is { } role ? Scheduling.Access.Caller.Staff(id, role) : null;
    }

    /// <summary>The signed-in contact's email, or null.</summary>
    public static string? ContactEmail(this ClaimsPrincipal user) =>
        user.IsInRole(ContactRole) ? user.FindFirstValue(ClaimTypes.Email) : null;
}
