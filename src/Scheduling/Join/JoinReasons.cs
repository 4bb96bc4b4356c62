namespace Teletherapy.Scheduling.Join;

/// <summary>Machine-readable reasons a join is refused; they are the <c>reason</c> member of API problems and audit entries.</summary>
public static class JoinReasons
{
    /// <summary>R1: the staff member is not a therapist listed on the appointment.</summary>
    public const string NotListed = "not-listed";

    /// <summary>R2 and the derived rule: the room opens 10 minutes before the start.</summary>
    public const string TooEarly = "too-early";

    /// <summary>The room has closed (end plus <see cref="JoinPolicy.GracePeriod"/>).</summary>
    public const string Ended = "ended";

    /// <summary>The appointment was cancelled.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The join link is past its expiry (end plus <see cref="JoinPolicy.GracePeriod"/>).</summary>
    public const string LinkExpired = "link-expired";

    /// <summary>The join link was replaced (the appointment was rescheduled, or a newer link was issued).</summary>
    public const string LinkRevoked = "link-revoked";

    /// <summary>The staff member's role never joins sessions (a scheduler), or the account is deactivated.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>No such appointment or link.</summary>
    public const string NotFound = "not-found";

    /// <summary>The appointment is not a teletherapy appointment, so it has no session.</summary>
    public const string NotTeletherapy = "not-teletherapy";
}
