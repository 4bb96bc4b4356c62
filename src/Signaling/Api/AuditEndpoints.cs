using Teletherapy.Scheduling.Audit;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Api;

/// <summary>
/// The security audit trail for admins (and integrators): the entries, newest first in pages, with ids only; and the
/// verification of its hash chain. Both are reads; nothing here changes the trail (it is append-only in the database).
/// </summary>
internal static class AuditEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var audit = api.MapGroup("/audit").WithTags("Audit").RequireAuthorization(AuthSetup.AdminPolicy);

        audit.MapGet("", async (DateTimeOffset? from, DateTimeOffset? to, string? kind, long? before, int? limit, SecurityAudit trail, CancellationToken ct) =>
            ApiProblems.From(await trail.ListAsync(new SecurityAuditQuery(from, to, kind, before, limit), ct), Results.Ok))
            .WithName("ListSecurityAudit")
            .WithSummary(
                "The security audit trail, newest first (admins): sign-ins (also failed and locked), refusals, reads of patient data, changes to staff, " +
                "clinic and patients; who, what kind, which id. from inclusive, to exclusive; kind one of sign-in, sign-in-failed, sign-in-locked, " +
                "sign-out, patient-read, patient-search, patient-changed, staff-changed, clinic-changed, access-refused; limit 1–1000 (default 100); " +
                "the next page is before=nextBefore.")
            .Produces<SecurityAuditPage>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden);

        audit.MapGet("/verify", async (SecurityAudit trail, CancellationToken ct) => Results.Ok(await trail.VerifyAsync(ct)))
            .WithName("VerifySecurityAudit")
            .WithSummary(
                "Walks the audit trail's hash chain (admins): intact, or the id of the first row that was changed (content-changed, chain-broken) " +
                "or follows a deleted one (row-missing). headId and headHash, noted elsewhere, show later removal of the newest rows.")
            .Produces<AuditVerification>().ProducesProblem(StatusCodes.Status403Forbidden);
    }
}
