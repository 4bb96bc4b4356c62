using Dapper;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Email;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.JoinLinks;

namespace Teletherapy.Scheduling.Portal;

/// <summary>
/// A join notification on a contact's portal dashboard (R10). <see cref="JoinPath"/> issues a join link when posted to;
/// <see cref="TimeZone"/> is the clinic's (IANA id), the zone its emails state the time in.
/// </summary>
public sealed record PortalNotification(Guid AppointmentId, Guid ContactId, string ClinicName, string PatientName, DateTimeOffset Start, DateTimeOffset End, DateTimeOffset OpensAt, string JoinPath, string TimeZone);

/// <summary>Answer of a portal join: the join page to open.</summary>
public sealed record PortalJoinLink(string JoinUrl);

/// <summary>
/// Use cases of the portal dashboard: the join notifications that are due (from start − 10 min, R10) for the signed-in
/// contact's email, and joining from one (a fresh join link for that appointment and contact).
/// </summary>
public sealed class PortalNotifications
{
    private readonly Database _database;
    private readonly EmailComposer _composer;
    private readonly TimeProvider _time;

    internal PortalNotifications(Database database, EmailComposer composer, TimeProvider time)
    {
        _database = database;
        _composer = composer;
        _time = time;
    }

    public async Task<IReadOnlyList<PortalNotification>> DueAsync(string email, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await Candidates(connection, null, email, now, appointmentId: null).ConfigureAwait(false);
        return rows.Where(r => JoinPolicy.IsPortalNotificationDue(r.Facts(), now))
            .Select(r => new PortalNotification(r.AppointmentId, r.ContactId, r.ClinicName, r.PatientName, r.StartAt, r.EndAt, JoinPolicy.OpensAt(r.Facts()), $"/api/v1/portal/appointments/{r.AppointmentId:D}/join", r.TimeZone))
            .ToList();
    }

    /// <summary>R5c, R10: a join link for a due notification, or the reason it is refused (<c>not-found</c>, <c>too-early</c>, <c>ended</c>, <c>cancelled</c>).</summary>
    public async Task<(PortalJoinLink? Link, string? Reason)> JoinAsync(string email, Guid appointmentId, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var row = (await Candidates(connection, transaction, email, now, appointmentId).ConfigureAwait(false)).FirstOrDefault();
            if (row is null)
            {
                return (null, JoinReasons.NotFound);
            }

            var facts = row.Facts();
            if (!JoinPolicy.IsPortalNotificationDue(facts, now))
            {
                var reason = facts.Status == AppointmentStatus.Cancelled ? JoinReasons.Cancelled
                    : now < JoinPolicy.OpensAt(facts) ? JoinReasons.TooEarly
                    : JoinReasons.Ended;
                return (null, reason);
            }

            var token = await JoinLinkIssuer.IssueAsync(connection, transaction, row.AppointmentId, row.ContactId, JoinLinkKinds.Portal, row.EndAt, now).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return (new PortalJoinLink(_composer.JoinUrl(token)), null);
        }
    }

    private static async Task<List<Row>> Candidates(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction, string email, DateTimeOffset now, Guid? appointmentId)
    {
        var filter = appointmentId is null ? "a.end_at > @earliestEnd AND a.start_at <= @latestStart" : "a.id = @appointmentId";
        return (await connection.QueryAsync<Row>(
            $"""
            SELECT a.id AS appointment_id, c.id AS contact_id, cl.name AS clinic_name, cl.time_zone AS time_zone, p.name AS patient_name,
                   a.start_at, a.end_at, a.status, a.teletherapy
            FROM contacts c
            JOIN patients p ON p.id = c.patient_id
            JOIN appointments a ON a.patient_id = p.id
            JOIN clinics cl ON cl.id = a.clinic_id
            WHERE c.email = @email AND c.removed_at IS NULL AND {filter}
            ORDER BY a.start_at, a.id, c.id
            """,
            new
            {
                email = Validation.NormalizeEmail(email),
                earliestEnd = now - JoinPolicy.GracePeriod,
                latestStart = now + JoinPolicy.RoomOpensBeforeStart,
                appointmentId,
            },
            transaction).ConfigureAwait(false)).ToList();
    }

    private sealed class Row
    {
        public Guid AppointmentId { get; set; }

        public Guid ContactId { get; set; }

        public string ClinicName { get; set; } = "";

        public string PatientName { get; set; } = "";

        public string TimeZone { get; set; } = "UTC";

        public DateTimeOffset StartAt { get; set; }

        public DateTimeOffset EndAt { get; set; }

        public string Status { get; set; } = "";

        public bool Teletherapy { get; set; }

        public AppointmentFacts Facts() => new(AppointmentId, StartAt, EndAt, Teletherapy, Status, []);
    }
}
