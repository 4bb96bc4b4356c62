namespace Teletherapy.Scheduling.Join;

/// <summary>Status values of an appointment.</summary>
internal static class AppointmentStatus
{
    public const string Scheduled = "scheduled";
    public const string Cancelled = "cancelled";

    /// <summary>A therapist ended the session: nobody is admitted any more, links stop working.</summary>
    public const string Ended = "ended";
}

/// <summary>What the join rules need to know about an appointment.</summary>
/// <param name="SeriesIndex">0 for the first occurrence of a series and for appointments not in a series.</param>
public sealed record AppointmentFacts(
    Guid Id,
    DateTimeOffset Start,
    DateTimeOffset End,
    bool Teletherapy,
    string Status,
    IReadOnlyCollection<Guid> TherapistIds,
    Guid? SeriesId = null,
    int SeriesIndex = 0);

/// <summary>What the join rules need to know about a join link.</summary>
internal sealed record JoinLinkFacts(Guid AppointmentId, Guid ContactId, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>A patient's contact as far as notifications are concerned.</summary>
internal sealed record ContactFacts(Guid Id, bool IsPrimary, string? Email, string? Phone, bool EmailReminders, bool SmsReminders);
