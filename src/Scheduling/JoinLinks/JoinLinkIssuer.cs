using System.Data.Common;
using Dapper;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Scheduling.JoinLinks;

/// <summary>What a join link was issued for; at most one active link per (appointment, contact, kind).</summary>
internal static class JoinLinkKinds
{
    /// <summary>In the scheduled-appointment email (R5a, R7).</summary>
    public const string Scheduled = "scheduled";

    /// <summary>In the reminder email (R5b, R8).</summary>
    public const string Reminder = "reminder";

    /// <summary>From the portal notification (R5c, R10).</summary>
    public const string Portal = "portal";

    /// <summary>Printed by the demo seeding.</summary>
    public const string Demo = "demo";
}

/// <summary>Revoke reasons stored with a link.</summary>
internal static class RevokeReasons
{
    public const string Rescheduled = "rescheduled";
    public const string Cancelled = "cancelled";
    public const string Replaced = "replaced";
    public const string ContactRemoved = "contact-removed";
}

/// <summary>Issues and revokes join links inside the caller's transaction.</summary>
internal static class JoinLinkIssuer
{
    /// <summary>
    /// Issues a new link for (appointment, contact, kind), revoking the active one of the same kind first, and
    /// returns the token. The token itself is never stored: it only travels in the message built in the same transaction.
    /// </summary>
    public static async Task<string> IssueAsync(
        DbConnection connection, DbTransaction transaction, Guid appointmentId, Guid contactId, string kind, DateTimeOffset appointmentEnd, DateTimeOffset now)
    {
        await connection.ExecuteAsync(
            "UPDATE join_links SET revoked_at = @now, revoked_reason = @reason WHERE appointment_id = @appointmentId AND contact_id = @contactId AND kind = @kind AND revoked_at IS NULL",
            new { now, reason = RevokeReasons.Replaced, appointmentId, contactId, kind }, transaction).ConfigureAwait(false);
        var token = JoinToken.New();
        await connection.ExecuteAsync(
            "INSERT INTO join_links (id, token_hash, appointment_id, contact_id, kind, expires_at, created_at) VALUES (@id, @hash, @appointmentId, @contactId, @kind, @expiresAt, @now)",
            new
            {
                id = Guid.NewGuid(),
                hash = JoinToken.Hash(token),
                appointmentId,
                contactId,
                kind,
                expiresAt = JoinPolicy.LinkExpiresAt(appointmentEnd),
                now,
            },
            transaction).ConfigureAwait(false);
        return token;
    }

    /// <summary>Revokes every active link of an appointment (reschedule, cancel); returns the contacts whose links were revoked.</summary>
    public static async Task<IReadOnlyList<Guid>> RevokeAllAsync(DbConnection connection, DbTransaction transaction, Guid appointmentId, string reason, DateTimeOffset now)
    {
        var contacts = (await connection.QueryAsync<Guid>(
            "SELECT DISTINCT contact_id FROM join_links WHERE appointment_id = @appointmentId AND revoked_at IS NULL",
            new { appointmentId }, transaction).ConfigureAwait(false)).ToList();
        await connection.ExecuteAsync(
            "UPDATE join_links SET revoked_at = @now, revoked_reason = @reason WHERE appointment_id = @appointmentId AND revoked_at IS NULL",
            new { now, reason, appointmentId }, transaction).ConfigureAwait(false);
        return contacts;
    }

    /// <summary>Revokes every active link of a contact (the contact was removed from the patient).</summary>
    public static Task<int> RevokeContactAsync(DbConnection connection, DbTransaction transaction, Guid contactId, string reason, DateTimeOffset now) =>
        connection.ExecuteAsync(
            "UPDATE join_links SET revoked_at = @now, revoked_reason = @reason WHERE contact_id = @contactId AND revoked_at IS NULL",
            new { now, reason, contactId }, transaction);
}
