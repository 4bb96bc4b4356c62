using Microsoft.AspNetCore.Authentication;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Api;

/// <summary>Body of <c>POST /api/v1/auth/login</c>.</summary>
internal sealed record LoginRequest(string? Email, string? Password);

/// <summary>The signed-in staff member.</summary>
internal sealed record StaffResponse(Guid Id, string Name, string Email);

/// <summary>Staff sign-in with a cookie.</summary>
internal static class AuthEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/auth/login", async (LoginRequest body, StaffAccounts staff, HttpContext context, CancellationToken ct) =>
        {
            var identity = await staff.VerifyPasswordAsync(body.Email, body.Password, ct);
            if (identity is null)
            {
                return ApiProblems.Problem(StatusCodes.Status401Unauthorized, ApiProblems.InvalidCredentials, "The email or the password is not right.");
            }

            await context.SignInAsync(AuthSetup.CookieScheme, AuthSetup.StaffPrincipal(identity.Id, identity.Name, identity.Email));
            return Results.Ok(new StaffResponse(identity.Id, identity.Name, identity.Email));
        })
        .AllowAnonymous()
        .WithName("Login").WithSummary("Staff sign-in: sets the auth cookie.").WithTags("Auth")
        .Produces<StaffResponse>().ProducesProblem(StatusCodes.Status401Unauthorized);

        api.MapPost("/auth/logout", async (HttpContext context) =>
        {
            await context.SignOutAsync(AuthSetup.CookieScheme);
            return Results.NoContent();
        })
        .AllowAnonymous()
        .WithName("Logout").WithSummary("Signs out (clears the auth cookie).").WithTags("Auth");

        api.MapGet("/auth/me", async (HttpContext context, StaffAccounts staff, CancellationToken ct) =>
            context.User.StaffId() is { } id && await staff.FindAsync(id, ct) is { } found
                ? Results.Ok(new StaffResponse(found.Id, found.Name, found.Email))
                : ApiProblems.Problem(StatusCodes.Status401Unauthorized, ApiProblems.Unauthorized, "Sign in first."))
        .RequireAuthorization(AuthSetup.StaffPolicy)
        .WithName("Me").WithSummary("The signed-in staff member.").WithTags("Auth")
        .Produces<StaffResponse>();
    }
}
