using Teletherapy.Signaling.Abuse;
using Microsoft.AspNetCore.Authentication;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Portal;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Api;

internal sealed record PortalLoginLinkRequest(string? Email);

/// <summary>The patient portal: sign-in by emailed link, due join notifications (R10), joining from one.</summary>
internal static class PortalEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var portal = api.MapGroup("/portal").WithTags("Portal");

        portal.MapPost("/login-link", (PortalLoginLinkRequest body, PortalLinkQueue queue) =>
        {
            // Only the form of the address is judged: whether it is a contact's is never told (202 either way).
            var email = body.Email?.Trim();
            if (email is null || email.Length is < 3 or > 254 || email.IndexOf('@', StringComparison.Ordinal) is <= 0 || email.Any(char.IsWhiteSpace))
            {
                return ApiProblems.Invalid("email", "A valid email address is required.");
            }

            // Handled in the background: the answer takes as long for a contact's address as for a stranger's.
            queue.Enqueue(email);
            return Results.Accepted();
        })
            .AllowAnonymous()
            .RequireAddressLimit(Throttling.PortalLink)
            .WithName("RequestPortalLoginLink")
            .WithSummary("Emails a one-time portal sign-in link to a contact. 202 for any well-formed address, known or not, at the same speed; at most 3 links an hour reach one address.")
            .Produces(StatusCodes.Status202Accepted).ProducesValidationProblem();

        portal.MapGet("/login/{token}", async (string token, PortalSignIn signIn, HttpContext context, CancellationToken ct) =>
        {
            var email = await signIn.ConsumeLinkAsync(token, ct);
            if (email is null)
            {
                return Results.Redirect("/portal?login=expired");
            }

            await context.SignInAsync(AuthSetup.CookieScheme, AuthSetup.ContactPrincipal(email));
            return Results.Redirect("/portal");
        })
            .AllowAnonymous()
            .WithName("PortalLogin")
            .WithSummary("Signs a contact in from the emailed link (once) and redirects to /portal.")
            .Produces(StatusCodes.Status302Found);

        portal.MapGet("/notifications", async (HttpContext context, PortalNotifications notifications, CancellationToken ct) =>
            Results.Ok(await notifications.DueAsync(context.User.ContactEmail()!, ct)))
            .RequireAuthorization(AuthSetup.ContactPolicy)
            .WithName("GetPortalNotifications")
            .WithSummary("Join notifications that are due (from 10 minutes before the start, R10).")
            .Produces<IReadOnlyList<PortalNotification>>();

        portal.MapPost("/appointments/{id:guid}/join", async (Guid id, HttpContext context, PortalNotifications notifications, CancellationToken ct) =>
        {
            var (link, reason) = await notifications.JoinAsync(context.User.ContactEmail()!, id, ct);
            if (link is not null)
            {
                return Results.Ok(link);
            }

            return reason == JoinReasons.NotFound
                ? ApiProblems.NotFoundProblem("No such appointment for this account.")
                : ApiProblems.Problem(StatusCodes.Status409Conflict, reason!, reason == JoinReasons.TooEarly ? "The session opens 10 minutes before the start." : "The session cannot be joined.");
        })
            .RequireAuthorization(AuthSetup.ContactPolicy)
            .WithName("PortalJoin")
            .WithSummary("Join the session from a portal notification: returns the join page URL.")
            .Produces<PortalJoinLink>().ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status404NotFound);
    }
}
