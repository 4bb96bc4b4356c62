using Microsoft.AspNetCore.Authentication;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Signaling.Abuse;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Api;

/// <summary>Body of <c>POST /api/v1/auth/login</c>.</summary>
internal sealed record LoginRequest(string? Email, string? Password);

/// <summary>The signed-in staff member.</summary>
internal sealed record StaffResponse(Guid Id, string Name, string Email, string Role)
{
    public static StaffResponse From(StaffIdentity staff) => new(staff.Id, staff.Name, staff.Email, staff.Role);
}

/// <summary>Whether the one-time setup page is offered.</summary>
internal sealed record SetupStatus(bool Required);

/// <summary>Staff sign-in with a cookie, and the first-run setup of a new installation.</summary>
internal static class AuthEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/auth/login", async (LoginRequest body, StaffAccounts staff, SignInThrottle throttle, SecurityAudit audit, TimeProvider time, HttpContext context, ILoggerFactory loggers, CancellationToken ct) =>
        {
            // A slowed-down or locked account is refused before the (deliberately slow) password hash.
            if (throttle.RetryAfter(body.Email) is { } wait)
            {
                return Throttling.TooMany("sign-in-account", "Too many wrong passwords for this account.", wait, context);
            }

            StaffIdentity? identity;
            using (var turn = await throttle.HashTurnAsync(ct))
            {
                if (!turn.IsAcquired)
                {
                    return Throttling.TooMany("sign-in-busy", "Too many sign-ins at once.", TimeSpan.FromSeconds(2), context);
                }

                identity = await staff.VerifyPasswordAsync(body.Email, body.Password, ct);
            }

            // Refusals before the hash (429) are not recorded one by one: a flood must not become a flood of writes.
            if (identity is null)
            {
                await audit.RecordAsync(SecurityEvent.SignInFailed(body.Email), ct);
                if (throttle.Failed(body.Email))
                {
                    SignInLog.Locked(loggers.CreateLogger(typeof(SignInLog)), SignInThrottle.Lockout.TotalMinutes);
                    await audit.RecordAsync(SecurityEvent.SignInLocked(body.Email, time.GetUtcNow() + SignInThrottle.Lockout), ct);
                }

                return ApiProblems.Problem(StatusCodes.Status401Unauthorized, ApiProblems.InvalidCredentials, "The email or the password is not right.");
            }

            throttle.Succeeded(body.Email);
            await audit.RecordAsync(SecurityEvent.SignedIn(identity.Id), ct);
            await context.SignInAsync(AuthSetup.CookieScheme, AuthSetup.StaffPrincipal(identity));
            return Results.Ok(StaffResponse.From(identity));
        })
        .AllowAnonymous()
        .RequireAddressLimit(Throttling.SignIn)
        .WithName("Login").WithSummary("Staff sign-in: sets the auth cookie. A deactivated account is refused like a wrong password; repeated wrong passwords slow the account down and lock it for 15 minutes (429 with Retry-After).").WithTags("Auth")
        .Produces<StaffResponse>().ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);

        api.MapPost("/auth/logout", async (HttpContext context, SecurityAudit audit, CancellationToken ct) =>
        {
            if (context.User.StaffId() is { } staffId)
            {
                await audit.RecordAsync(SecurityEvent.SignedOut(staffId), ct);
            }

            await context.SignOutAsync(AuthSetup.CookieScheme);
            return Results.NoContent();
        })
        .AllowAnonymous()
        .WithName("Logout").WithSummary("Signs out (clears the auth cookie).").WithTags("Auth");

        api.MapGet("/auth/me", async (HttpContext context, StaffAccounts staff, CancellationToken ct) =>
            context.User.StaffId() is { } id && await staff.FindAsync(id, ct) is { Active: true } found
                ? Results.Ok(StaffResponse.From(found))
                : ApiProblems.Problem(StatusCodes.Status401Unauthorized, ApiProblems.Unauthorized, "Sign in first."))
        .RequireAuthorization(AuthSetup.StaffPolicy)
        .WithName("Me").WithSummary("The signed-in staff member with their role.").WithTags("Auth")
        .Produces<StaffResponse>();

        api.MapGet("/setup", async (FirstRunSetup setup, CancellationToken ct) => Results.Ok(new SetupStatus(await setup.IsRequiredAsync(ct))))
        .AllowAnonymous()
        .WithName("GetSetup").WithSummary("Whether the one-time setup is still open (no staff account exists yet).").WithTags("Auth")
        .Produces<SetupStatus>();

        api.MapPost("/setup", async (FirstRunRequest body, FirstRunSetup setup, SecurityAudit audit, HttpContext context, CancellationToken ct) =>
        {
            var result = await setup.HandleAsync(body, ct);
            if (!result.IsOk)
            {
                return ApiProblems.From(result, Results.Ok);
            }

            await audit.RecordAsync(SecurityEvent.SignedIn(result.Value!.Id), ct);
            await context.SignInAsync(AuthSetup.CookieScheme, AuthSetup.StaffPrincipal(result.Value!));
            return Results.Created($"/api/v1/staff/{result.Value!.Id}", StaffResponse.From(result.Value!));
        })
        .AllowAnonymous()
        .WithName("Setup")
        .WithSummary("One-time setup: names the clinic and creates the first admin, who is signed in. Refused with 409 already-set-up once any staff account exists.")
        .WithTags("Auth")
        .Produces<StaffResponse>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
    }
}

/// <summary>Sign-in events worth an operator's attention (no email or name: ids only).</summary>
internal static partial class SignInLog
{
    [LoggerMessage(EventId = 2700, Level = LogLevel.Warning, Message = "A staff account was locked for {Minutes} minutes after repeated wrong passwords")]
    public static partial void Locked(ILogger logger, double minutes);
}
