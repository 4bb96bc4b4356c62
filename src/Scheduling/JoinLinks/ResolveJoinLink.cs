using System.Data.Common;
using Dapper;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Scheduling.JoinLinks;

/// <summary>A join link found by its token, with its contact.</summary>
internal sealed record FoundJoinLink(JoinLinkFacts Link, ContactRow Contact);

/// <summary>Finds a join link by token (through its hash; the token itself is never stored).</summary>
internal static class ResolveJoinLink
{
    public static async Task<FoundJoinLink?> FindAsync(DbConnection connection, string token)
    {
        if (!JoinToken.LooksValid(token))
        {
            return null;
        }

        var row = await connection.QuerySingleOrDefaultAsync<LinkRow>(
            """
            SELECT l.appointment_id, l.contact_id, l.expires_at, l.revoked_at,
                   c.name AS contact_name, c.role AS contact_role, c.patient_id, c.is_primary
            FROM join_links l JOIN contacts c ON c.id = l.contact_id
            WHERE l.token_hash = @hash
            """,
            new { hash = JoinToken.Hash(token) }).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        return new FoundJoinLink(
            new JoinLinkFacts(row.AppointmentId, row.ContactId, row.ExpiresAt, row.RevokedAt),
            new ContactRow { Id = row.ContactId, PatientId = row.PatientId, Name = row.ContactName, Role = row.ContactRole, IsPrimary = row.IsPrimary });
    }

    private sealed class LinkRow
    {
        public Guid AppointmentId { get; set; }

        public Guid ContactId { get; set; }

        public DateTimeOffset ExpiresAt { get; set; }

        public DateTimeOffset? RevokedAt { get; set; }

        public string ContactName { get; set; } = "";

        public string ContactRole { get; set; } = "";

        public Guid PatientId { get; set; }

        public bool IsPrimary { get; set; }
    }
}
