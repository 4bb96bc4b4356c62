namespace Teletherapy.Scheduling.Audit;

/// <summary>
/// Face-to-face time: the time during which at least one therapist was in the session and at least one contact was
/// admitted (waiting time excluded).
/// </summary>
/// <remarks>
/// Therapists (actor kind staff) are present after <c>joined</c>/<c>rejoined</c> and absent after <c>left</c>/<c>dropped</c>.
/// A contact is in the session after being <c>admitted</c> (the contact is the event's subject) or after <c>rejoined</c>
/// (a dropped participant rejoins without knocking), and out after <c>sent-back</c>/<c>denied</c> (subject) or
/// <c>left</c>/<c>dropped</c> (actor). A contact's <c>joined</c> or <c>knocked</c> is waiting, not session time.
/// <c>removed</c> (a change to the appointment sent its subject away) takes the subject out, contact or therapist.
/// <c>ended</c> clears everybody. An interval still open counts until <c>now</c>.
/// </remarks>
internal static class FaceToFace
{
    public static TimeSpan Compute(IEnumerable<AuditEvent> events, DateTimeOffset now)
    {
        var therapists = new HashSet<Guid>();
        var contacts = new HashSet<Guid>();
        var total = TimeSpan.Zero;
        DateTimeOffset? since = null;

        foreach (var e in events.OrderBy(e => e.At).ThenBy(e => e.Id))
        {
            Apply(e, therapists, contacts);
            var together = therapists.Count > 0 && contacts.Count > 0;
            if (together && since is null)
            {
                since = e.At;
            }
            else if (!together && since is { } start)
            {
                total += e.At - start;
                since = null;
            }
        }

        if (since is { } open && now > open)
        {
            total += now - open;
        }

        return total;
    }

    private static void Apply(AuditEvent e, HashSet<Guid> therapists, HashSet<Guid> contacts)
    {
        var actor = e.ActorId ?? Guid.Empty;
        var isStaff = e.ActorKind == AuditActorKinds.Staff;
        switch (e.Kind)
        {
            case AuditKinds.Joined when isStaff:
            case AuditKinds.Rejoined when isStaff:
                therapists.Add(actor);
                break;
            case AuditKinds.Rejoined when e.ActorKind == AuditActorKinds.Contact:
                contacts.Add(actor);
                break;
            case AuditKinds.Left:
            case AuditKinds.Dropped:
                if (isStaff)
                {
                    therapists.Remove(actor);
                }
                else
                {
                    contacts.Remove(actor);
                }

                break;
            case AuditKinds.Admitted when e.SubjectId is { } admitted:
                contacts.Add(admitted);
                break;
            case AuditKinds.SentBack when e.SubjectId is { } sentBack:
                contacts.Remove(sentBack);
                break;
            case AuditKinds.Denied when e.SubjectId is { } denied:
                contacts.Remove(denied);
                break;
            case AuditKinds.Removed when e.SubjectId is { } removed:
                // A contact whose link was revoked, or a therapist no longer listed: ids never collide.
                contacts.Remove(removed);
                therapists.Remove(removed);
                break;
            case AuditKinds.Ended:
                therapists.Clear();
                contacts.Clear();
                break;
        }
    }
}
