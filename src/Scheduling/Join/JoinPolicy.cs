namespace Teletherapy.Scheduling.Join;

/// <summary>
/// The join rules of the product (R1, R2, R6–R10 and the derived rules) as pure functions of the appointment,
/// the actor and the time. Nothing here reads a clock or a database, so the rules can be tested at their boundaries
/// and reused unchanged by the REST API and the session hub.
/// </summary>
/// <remarks>
/// Boundaries, precisely:
/// <list type="bullet">
/// <item>The room opens at <c>start − 10:00</c> <b>inclusive</b>: at exactly 10 minutes before the start a join is
/// allowed; one tick earlier (e.g. 10:00.001 or 10:01 before) it is refused with <c>too-early</c>. "9:59 before the
/// start" is inside the open room.</item>
/// <item>The room closes at <c>end + 60 min</c> (<see cref="GracePeriod"/>) <b>exclusive</b>: until one tick before
/// that moment joins and links work, so an overrunning session can go on and a dropped participant can rejoin;
/// from that moment therapists get <c>ended</c> and links <c>link-expired</c>.</item>
/// <item>A reminder is due from <c>start − 24 h</c> inclusive until the start exclusive (a missed one is caught up
/// after downtime only while the appointment has not started).</item>
/// <item>A portal notification is shown from <c>start − 10:00</c> inclusive until the room closes (R10).</item>
/// </list>
/// </remarks>
public static class JoinPolicy
{
    /// <summary>R2 and derived rule: the room opens this long before the scheduled start, for everybody.</summary>
    public static readonly TimeSpan RoomOpensBeforeStart = TimeSpan.FromMinutes(10);

    /// <summary>Derived rule: links and the room stay usable this long after the scheduled end (overruns, rejoining).</summary>
    public static readonly TimeSpan GracePeriod = TimeSpan.FromMinutes(60);

    /// <summary>R8: the reminder goes out this long before the start.</summary>
    public static readonly TimeSpan ReminderLeadTime = TimeSpan.FromHours(24);

    /// <summary>When the room opens: start − 10 minutes.</summary>
    public static DateTimeOffset OpensAt(AppointmentFacts appointment) => appointment.Start - RoomOpensBeforeStart;

    /// <summary>When the room closes and links expire: end + grace period.</summary>
    public static DateTimeOffset ClosesAt(AppointmentFacts appointment) => appointment.End + GracePeriod;

    /// <summary>Expiry of a link for an appointment ending at <paramref name="end"/>.</summary>
    internal static DateTimeOffset LinkExpiresAt(DateTimeOffset end) => end + GracePeriod;

    /// <summary>True from start − 10 min (inclusive) until the room closes (exclusive).</summary>
    internal static bool IsRoomOpen(AppointmentFacts appointment, DateTimeOffset now) =>
        now >= OpensAt(appointment) && now < ClosesAt(appointment);

    /// <summary>R1, R2: may this staff member join (start) the session from the calendar now?</summary>
    public static JoinDecision CanTherapistJoin(AppointmentFacts appointment, Guid staffId, DateTimeOffset now)
    {
        if (!appointment.TherapistIds.Contains(staffId))
        {
            return JoinDecision.Refuse(JoinReasons.NotListed);
        }

        if (appointment.Status == AppointmentStatus.Cancelled)
        {
            return JoinDecision.Refuse(JoinReasons.Cancelled);
        }

        if (!appointment.Teletherapy)
        {
            return JoinDecision.Refuse(JoinReasons.NotTeletherapy);
        }

        if (appointment.Status == AppointmentStatus.Ended)
        {
            return JoinDecision.Refuse(JoinReasons.Ended);
        }

        if (now < OpensAt(appointment))
        {
            return JoinDecision.Refuse(JoinReasons.TooEarly);
        }

        return now >= ClosesAt(appointment) ? JoinDecision.Refuse(JoinReasons.Ended) : JoinDecision.Allow;
    }

    /// <summary>
    /// Derived rule: is this join link still good? Checked in this order: cancelled appointment, revoked link,
    /// expired link. A good link opened before the room opens is still good (the join page counts down);
    /// use <see cref="CanContactEnterRoom"/> to decide whether the holder may enter the waiting room now.
    /// </summary>
    internal static JoinDecision CheckJoinLink(AppointmentFacts appointment, JoinLinkFacts link, DateTimeOffset now)
    {
        if (link.AppointmentId != appointment.Id)
        {
            return JoinDecision.Refuse(JoinReasons.NotFound);
        }

        if (appointment.Status == AppointmentStatus.Cancelled)
        {
            return JoinDecision.Refuse(JoinReasons.Cancelled);
        }

        if (appointment.Status == AppointmentStatus.Ended)
        {
            return JoinDecision.Refuse(JoinReasons.Ended);
        }

        if (link.RevokedAt is not null)
        {
            return JoinDecision.Refuse(JoinReasons.LinkRevoked);
        }

        return now >= link.ExpiresAt || now >= ClosesAt(appointment)
            ? JoinDecision.Refuse(JoinReasons.LinkExpired)
            : JoinDecision.Allow;
    }

    /// <summary>R3 entry: may the holder of this link enter the waiting room now? Adds <c>too-early</c> to <see cref="CheckJoinLink"/>.</summary>
    internal static JoinDecision CanContactEnterRoom(AppointmentFacts appointment, JoinLinkFacts link, DateTimeOffset now)
    {
        var linkDecision = CheckJoinLink(appointment, link, now);
        if (!linkDecision.Allowed)
        {
            return linkDecision;
        }

        return now < OpensAt(appointment) ? JoinDecision.Refuse(JoinReasons.TooEarly) : JoinDecision.Allow;
    }

    /// <summary>
    /// R7: the occurrence whose session the scheduled-appointment email's <b>Join the session</b> button joins: the
    /// appointment itself when not in a series, else the first occurrence of the series (earliest start).
    /// </summary>
    internal static AppointmentFacts ScheduledEmailLinkTarget(IReadOnlyCollection<AppointmentFacts> occurrences)
    {
        if (occurrences.Count == 0)
        {
            throw new ArgumentException("A schedule has at least one occurrence.", nameof(occurrences));
        }

        return occurrences.OrderBy(o => o.Start).ThenBy(o => o.SeriesIndex).First();
    }

    /// <summary>
    /// R6: the contacts who get the scheduled-appointment email: the primary contact and every contact with email
    /// reminders on, each once, and only those with an email address (one message each, never a shared To).
    /// </summary>
    internal static IReadOnlyList<ContactFacts> ScheduledEmailRecipients(IEnumerable<ContactFacts> contacts) =>
        contacts.Where(c => (c.IsPrimary || c.EmailReminders) && !string.IsNullOrWhiteSpace(c.Email))
            .DistinctBy(c => c.Id)
            .ToList();

    /// <summary>R8, R9: which reminders a contact gets for a clinic whose reminders feature is on or off.</summary>
    internal static ReminderChannels RemindersFor(bool clinicRemindersEnabled, ContactFacts contact)
    {
        if (!clinicRemindersEnabled)
        {
            return ReminderChannels.None;
        }

        var channels = ReminderChannels.None;
        if (contact.EmailReminders && !string.IsNullOrWhiteSpace(contact.Email))
        {
            channels |= ReminderChannels.Email;
        }

        if (contact.SmsReminders && !string.IsNullOrWhiteSpace(contact.Phone))
        {
            channels |= ReminderChannels.Sms;
        }

        return channels;
    }

    /// <summary>R8: a reminder is due from start − 24 h (inclusive) until the start (exclusive), for a scheduled teletherapy appointment.</summary>
    internal static bool IsReminderDue(AppointmentFacts appointment, DateTimeOffset now) =>
        appointment.Status == AppointmentStatus.Scheduled
        && appointment.Teletherapy
        && now >= appointment.Start - ReminderLeadTime
        && now < appointment.Start;

    /// <summary>R10: the portal shows the join notification from start − 10 min (inclusive) until the room closes.</summary>
    internal static bool IsPortalNotificationDue(AppointmentFacts appointment, DateTimeOffset now) =>
        appointment.Status == AppointmentStatus.Scheduled
        && appointment.Teletherapy
        && IsRoomOpen(appointment, now);

    /// <summary>R9: SMS text carries no link. Returns true when <paramref name="text"/> has nothing that looks like one.</summary>
    internal static bool IsFreeOfLinks(string text) =>
        !text.Contains("://", StringComparison.Ordinal)
        && !text.Contains("www.", StringComparison.OrdinalIgnoreCase)
        && !text.Contains("/join/", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The reminder channels a contact gets (R8, R9).</summary>
[Flags]
internal enum ReminderChannels
{
    None = 0,
    Email = 1,
    Sms = 2,
}
