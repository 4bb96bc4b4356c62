using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Signaling.Sessions;

// A cancelled or rescheduled appointment reaches the people already in its room, not only their next join.
// Scheduling tells us through IAppointmentChangeListener once the change is committed (it knows nothing of sessions).
internal sealed partial class SessionCoordinator : IAppointmentChangeListener
{
    /// <summary>
    /// Cancel: the room is closed for everyone the way End session closes it (relay router gone, every connection
    /// let go), every connection is told <c>cancelled</c>, and the end is audited with that reason and who cancelled.
    /// </summary>
    public Task AppointmentCancelledAsync(AppointmentCancelled change)
    {
        ArgumentNullException.ThrowIfNull(change);
        // A join that read the appointment before the cancel committed is either in the room when we look, or asks the
        // join rules again once it is there and is refused (RefuseAfterEntryAsync).
        if (FindRoom(change.AppointmentId) is not { } room)
        {
            return Task.CompletedTask;
        }

        var notice = new ParticipantStateNotice(
            ParticipantStates.SessionEnded, "This appointment was cancelled. If that is unexpected, please contact the clinic.", Reason: JoinReasons.Cancelled);
        return CloseAsync(room, JoinReasons.Cancelled, notice, auditBy: change.By);
    }

    /// <summary>
    /// Reschedule. Contacts whose links it revoked are sent away with <c>link-revoked</c> (they were emailed a new
    /// link and knock again with it). Each therapist in the room is judged by the join rules at the new time, as if
    /// joining now: those still allowed keep the room (so moving a session by a few minutes does not throw the
    /// therapist out); one no longer listed is sent away with <c>not-listed</c>; and when no therapist in the room may
    /// stay, the room is closed for everyone with the rules' reason (<c>too-early</c> when the new time is later than
    /// the room's opening, <c>ended</c> when it has already closed), to be opened afresh at the new time.
    /// </summary>
    public async Task AppointmentRescheduledAsync(AppointmentRescheduled change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var facts = change.Appointment;
        if (FindRoom(facts.Id) is not { } room)
        {
            return;
        }

        room.Reschedule(room.Appointment with
        {
            Start = facts.Start,
            End = facts.End,
            OpensAt = JoinPolicy.OpensAt(facts),
            ClosesAt = JoinPolicy.ClosesAt(facts),
            Status = facts.Status,
            TherapistIds = facts.TherapistIds.ToList(),
        });

        var revoked = change.RevokedLinkContactIds.ToHashSet();
        foreach (var contact in room.Participants().Where(p => p.ContactId is { } id && revoked.Contains(id)))
        {
            await SendAwayAsync(room, contact, JoinReasons.LinkRevoked, change.By,
                "The appointment was moved to a new time, so this link no longer works. The clinic has emailed you a new link.").ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        var therapists = room.Participants()
            .Where(p => p.IsTherapist && p.State == ParticipantStates.Admitted)
            .Select(p => (Participant: p, Decision: JoinPolicy.CanTherapistJoin(facts, p.StaffId!.Value, now)))
            .ToList();
        if (therapists.Count > 0 && therapists.TrueForAll(t => !t.Decision.Allowed))
        {
            // The reason about the appointment's time beats "not listed": it is the same for every therapist.
            var reason = therapists.Select(t => t.Decision.Reason!).FirstOrDefault(r => r != JoinReasons.NotListed) ?? JoinReasons.NotListed;
            var message = reason == JoinReasons.TooEarly
                ? "The appointment was moved to a later time. Its session opens 10 minutes before the new start."
                : "The appointment was changed, and this session is closed.";
            await CloseAsync(room, reason, new ParticipantStateNotice(ParticipantStates.SessionEnded, message, Reason: reason), auditBy: change.By).ConfigureAwait(false);
            return;
        }

        foreach (var (therapist, decision) in therapists.Where(t => !t.Decision.Allowed))
        {
            await SendAwayAsync(room, therapist, decision.Reason!, change.By, "You are no longer listed on this appointment.").ConfigureAwait(false);
        }

        await PublishSnapshotAsync(room).ConfigureAwait(false);
    }

    /// <summary>
    /// Closes the room for everyone (End session, cancel, a reschedule that leaves no therapist allowed): the room is
    /// ended and forgotten, its relay router disposed (every peer with it, so nothing more is forwarded), every
    /// connection let go of the session's groups, then told with <paramref name="notice"/> and
    /// <see cref="ISessionClient.SessionEnded"/>(<paramref name="reason"/>). With <paramref name="auditBy"/> the end is
    /// audited as <c>ended</c> with the reason (End session's own use case audits it otherwise).
    /// </summary>
    private async Task CloseAsync(SessionRoom room, string reason, ParticipantStateNotice notice, AuditActor? auditBy)
    {
        // Ended, with its connections and relay router gone, in one step: a join on its way in got in before (and is
        // told below) or finds the room ended, and no router is made for the room after this.
        IReadOnlyList<ParticipantView> everyone = [];
        if (!_registry.Close(room, closing =>
            {
                everyone = closing.End();
                _media.CloseRouter(closing);
            }))
        {
            return; // closed by someone else meanwhile
        }

        LogClosed(room.AppointmentId, reason);
        var connections = new List<string>();
        foreach (var participant in everyone)
        {
            ForgetChatBudget(room, participant.Id);
            await LetGoAsync(room, participant).ConfigureAwait(false);
            connections.AddRange(participant.Connections);
        }

        if (auditBy is not null)
        {
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.Ended, auditBy, reason).ConfigureAwait(false);
        }

        if (connections.Count > 0)
        {
            var tabs = _hub.Clients.Clients(connections);
            await tabs.StateChanged(notice).ConfigureAwait(false);
            await tabs.SessionEnded(reason).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends one participant away for good: out of the room and the relay (their peer removed: nothing is forwarded to
    /// or from them), their connections let go, the others told they left, the removal audited (<c>removed</c>, with
    /// who changed the appointment as actor and the participant as subject), and the participant told why.
    /// </summary>
    private async Task SendAwayAsync(SessionRoom room, ParticipantView participant, string reason, AuditActor by, string message)
    {
        var removed = await TakeOutAsync(room, participant.Id).ConfigureAwait(false);
        if (removed is null)
        {
            return;
        }

        LogSentAway(removed.Id, room.AppointmentId, reason);
        var wasInRoom = removed.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack or ParticipantStates.Admitted;
        if (wasInRoom)
        {
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.Removed, by, reason, subjectId: removed.ContactId ?? removed.StaffId).ConfigureAwait(false);
        }

        if (removed.State == ParticipantStates.Admitted)
        {
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerLeft(removed.ToPeer() with { Connected = false }).ConfigureAwait(false);
        }

        if (removed.Connections.Count > 0)
        {
            var tabs = _hub.Clients.Clients(removed.Connections);
            await tabs.StateChanged(new ParticipantStateNotice(ParticipantStates.SessionEnded, message, Reason: reason)).ConfigureAwait(false);
            await tabs.SessionEnded(reason).ConfigureAwait(false);
        }

        if (removed.IsTherapist)
        {
            await AfterPresenceChangeAsync(room, removed).ConfigureAwait(false);
        }
    }

    /// <summary>Out of the room and the relay (their peer removed), their connections let go. Null when not in the room.</summary>
    private async Task<ParticipantView?> TakeOutAsync(SessionRoom room, string participantId)
    {
        var removed = room.Remove(participantId);
        if (removed is not null)
        {
            _media.RemovePeer(room, removed.Id);
            ForgetChatBudget(room, removed.Id);
            await LetGoAsync(room, removed).ConfigureAwait(false);
        }

        return removed;
    }

    /// <summary>The participant's connections no longer belong to the room: no group of it, no room to act on.</summary>
    private async Task LetGoAsync(SessionRoom room, ParticipantView participant)
    {
        foreach (var connection in participant.Connections)
        {
            _registry.Detach(connection, room);
            await RemoveFromAllGroupsAsync(room, connection, participant.Id).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Session of appointment {AppointmentId} closed ({Reason})")]
    private partial void LogClosed(Guid appointmentId, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Participant {ParticipantId} sent away from the session of appointment {AppointmentId} ({Reason})")]
    private partial void LogSentAway(string participantId, Guid appointmentId, string reason);
}
