using Microsoft.AspNetCore.SignalR;
using Teletherapy.MediaRelay;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Hosting;

namespace Teletherapy.Signaling.Sessions;

// Joining: a therapist with the sign-in, a patient or caregiver with their link, through the join rules into the room,
// its groups and the relay; and the ways a join that got into the room is refused after all.
internal sealed partial class SessionCoordinator
{
    /// <summary>The reason a denied contact's new join is refused.</summary>
    private const string NotAdmitted = "not-admitted";

    public Task<JoinResult> JoinTherapistAsync(string connectionId, Guid staffId, string name, Guid appointmentId) =>
        UnlessDatabaseUnavailableAsync(connectionId, () => JoinTherapistAsync(connectionId, staffId, name, appointmentId, firstTry: true));

    /// <param name="deviceKey">The key this device got at its first join (<see cref="JoinResult.DeviceKey"/>), if any.</param>
    public Task<JoinResult> JoinWithTokenAsync(string connectionId, string token, string? deviceKey = null) =>
        UnlessDatabaseUnavailableAsync(connectionId, () => JoinWithTokenAsync(connectionId, token, deviceKey, firstTry: true));

    private async Task<JoinResult> JoinTherapistAsync(string connectionId, Guid staffId, string name, Guid appointmentId, bool firstTry)
    {
        var check = await _join.CheckTherapistJoinAsync(appointmentId, staffId).ConfigureAwait(false);
        if (!check.Decision.Allowed || check.Appointment is null)
        {
            return Refuse(check.Decision.Reason ?? JoinReasons.NotFound, check.Appointment?.OpensAt);
        }

        var room = _registry.Open(check.Appointment, _time.GetUtcNow());
        if (room.IsEnded)
        {
            return Refuse(JoinReasons.Ended);
        }

        await JoinRulesChecked(appointmentId).ConfigureAwait(false);
        await LeaveOtherRoomAsync(connectionId, room).ConfigureAwait(false);
        var outcome = room.JoinTherapist(staffId, name, connectionId, _time.GetUtcNow());
        var entry = outcome.Participant.State == ParticipantStates.SessionEnded
            ? SessionRegistry.Attachment.RoomClosed
            : await EnterAsync(connectionId, room, outcome.Participant).ConfigureAwait(false);
        if (entry != SessionRegistry.Attachment.Attached)
        {
            return firstTry && entry == SessionRegistry.Attachment.RoomClosed && ClosedMeanwhile(room)
                ? await JoinTherapistAsync(connectionId, staffId, name, appointmentId, firstTry: false).ConfigureAwait(false)
                : NotEntered(entry);
        }

        var recheck = await _join.CheckTherapistJoinAsync(appointmentId, staffId).ConfigureAwait(false);
        if (!recheck.Decision.Allowed)
        {
            var reason = recheck.Decision.Reason ?? JoinReasons.NotFound;
            await RefuseAfterEntryAsync(room, outcome.Participant, connectionId, reason).ConfigureAwait(false);
            return Refuse(reason, recheck.Appointment?.OpensAt);
        }

        var (therapistPeer, refusal) = await PeerOrRefusalAsync(room, outcome.Participant, connectionId).ConfigureAwait(false);
        if (therapistPeer is null)
        {
            return Refuse(refusal!);
        }

        therapistPeer.SeesWaitingPeers = true;
        therapistPeer.Admit();
        if (outcome.FirstArrival || outcome.Rejoined)
        {
            // A second tab of a therapist already present is neither a join nor a return.
            await _audit.AppendAsync(room.AppointmentId, outcome.Rejoined ? AuditKinds.Rejoined : AuditKinds.Joined, AuditActor.Staff(staffId)).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerJoined(outcome.Participant.ToPeer()).ConfigureAwait(false);
        }

        if (outcome.FirstTherapistArrived)
        {
            await _hub.Clients.Group(SessionGroups.Waiting(room.AppointmentId))
                .StateChanged(new ParticipantStateNotice(ParticipantStates.WaitingToBeAdmitted, "Your therapist has started the session and will let you in shortly.")).ConfigureAwait(false);
        }

        await PublishSnapshotAsync(room).ConfigureAwait(false);
        return Accepted(room, outcome.Participant);
    }

    private async Task<JoinResult> JoinWithTokenAsync(string connectionId, string token, string? deviceKey, bool firstTry)
    {
        if (string.IsNullOrWhiteSpace(token) || token.Length > 200)
        {
            return Refuse(JoinReasons.NotFound);
        }

        var check = await _join.ResolveJoinTokenAsync(token).ConfigureAwait(false);
        if (!check.Decision.Allowed || check.Appointment is null || check.Contact is null)
        {
            return Refuse(check.Decision.Reason ?? JoinReasons.NotFound, check.Appointment?.OpensAt);
        }

        if (!check.RoomOpen)
        {
            // A good link before the room opens: the join page counts down to OpensAt. Still a refused attempt (audited).
            await _audit.AppendAsync(check.Appointment.Id, AuditKinds.JoinRefused, AuditActor.Contact(check.Contact.Id), JoinReasons.TooEarly).ConfigureAwait(false);
            return Refuse(JoinReasons.TooEarly, check.Appointment.OpensAt);
        }

        var room = _registry.Open(check.Appointment, _time.GetUtcNow());
        if (room.IsEnded)
        {
            return Refuse(JoinReasons.Ended);
        }

        var contact = check.Contact;
        await JoinRulesChecked(room.AppointmentId).ConfigureAwait(false);
        await LeaveOtherRoomAsync(connectionId, room).ConfigureAwait(false);
        var outcome = room.JoinContact(contact.Id, contact.Name, contact.Role, connectionId, deviceKey is { Length: <= 64 } ? deviceKey : null, _time.GetUtcNow());
        var participant = outcome.Participant;
        if (participant.State == ParticipantStates.Denied)
        {
            // Denied stays denied for this session: the connection is not attached to the room (no events, no media).
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.JoinRefused, AuditActor.Contact(contact.Id), NotAdmitted).ConfigureAwait(false);
            return Refuse(NotAdmitted);
        }

        var entry = participant.State == ParticipantStates.SessionEnded
            ? SessionRegistry.Attachment.RoomClosed
            : await EnterAsync(connectionId, room, participant).ConfigureAwait(false);
        if (entry != SessionRegistry.Attachment.Attached)
        {
            return firstTry && entry == SessionRegistry.Attachment.RoomClosed && ClosedMeanwhile(room)
                ? await JoinWithTokenAsync(connectionId, token, deviceKey, firstTry: false).ConfigureAwait(false)
                : NotEntered(entry);
        }

        var actor = AuditActor.Contact(contact.Id);
        var recheck = await _join.ResolveJoinTokenAsync(token).ConfigureAwait(false);
        if (!recheck.Decision.Allowed || !recheck.RoomOpen)
        {
            var reason = recheck.Decision.Reason ?? JoinReasons.TooEarly;
            await RefuseAfterEntryAsync(room, participant, connectionId, reason).ConfigureAwait(false);
            return Refuse(reason, recheck.Appointment?.OpensAt);
        }

        var (peer, refusal) = await PeerOrRefusalAsync(room, participant, connectionId).ConfigureAwait(false);
        if (peer is null)
        {
            return Refuse(refusal!);
        }

        if (participant.State == ParticipantStates.Admitted)
        {
            peer.Admit();
            if (outcome.Rejoined)
            {
                await _audit.AppendAsync(room.AppointmentId, AuditKinds.Rejoined, actor).ConfigureAwait(false);
                await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerJoined(participant.ToPeer()).ConfigureAwait(false);
            }
        }
        else if (outcome.Knocked)
        {
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.Knocked, actor, subjectId: contact.Id).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.Therapists(room.AppointmentId)).Knock(participant.ToWaiting()).ConfigureAwait(false);
        }

        await PublishSnapshotAsync(room).ConfigureAwait(false);
        return Accepted(room, participant) with { DeviceKey = outcome.DeviceKey };
    }

    /// <summary>
    /// A join reads the join rules' facts from the database. While it cannot be used the join is refused
    /// <see cref="DatabaseOutage.Reason"/> (the page offers to try again), never a hub error; the sessions in progress
    /// go on. A join that got into the room before the database went away leaves it again. While the join is on its
    /// way in, a close of its connection is remembered (<see cref="SessionRegistry.Joining"/>).
    /// </summary>
    private async Task<JoinResult> UnlessDatabaseUnavailableAsync(string connectionId, Func<Task<JoinResult>> join)
    {
        using var joining = _registry.Joining(connectionId);
        try
        {
            return await join().ConfigureAwait(false);
        }
        catch (Exception ex) when (Teletherapy.Scheduling.Data.Database.IsUnavailable(ex))
        {
            DatabaseOutage.Refusals.WithLabels("hub").Inc();
            LogJoinUnavailable(ex.GetType().Name);
            if (_registry.RoomOf(connectionId) is not null)
            {
                try
                {
                    await LeaveAsync(connectionId).ConfigureAwait(false);
                }
                catch (HubException)
                {
                    // not in the room after all
                }
            }

            return Refuse(DatabaseOutage.Reason);
        }
    }

    /// <summary>A connection that joins another session leaves the one it was in first: a connection is in one room at most.</summary>
    private async Task LeaveOtherRoomAsync(string connectionId, SessionRoom room)
    {
        if (_registry.RoomOf(connectionId) is { } other && !ReferenceEquals(other, room))
        {
            await LeaveRoomAsync(other, connectionId).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The connection, which the room took in for <paramref name="participant"/>, enters it here: it is the room's
    /// (<see cref="SessionRegistry.Attach"/>) and in its groups. When it cannot be (the room was closed or let go on the
    /// way in, or the connection closed meanwhile), the room lets the connection go again and nobody is told of it.
    /// </summary>
    private async Task<SessionRegistry.Attachment> EnterAsync(string connectionId, SessionRoom room, ParticipantView participant)
    {
        var entry = _registry.Attach(connectionId, room);
        if (entry != SessionRegistry.Attachment.Attached)
        {
            room.Disconnect(connectionId, _time.GetUtcNow());
            if (entry == SessionRegistry.Attachment.ConnectionClosed)
            {
                await PublishSnapshotAsync(room).ConfigureAwait(false);
            }

            return entry;
        }

        await _hub.Groups.AddToGroupAsync(connectionId, SessionGroups.All(room.AppointmentId)).ConfigureAwait(false);
        await _hub.Groups.AddToGroupAsync(connectionId, SessionGroups.Participant(room.AppointmentId, participant.Id)).ConfigureAwait(false);
        if (participant.IsTherapist)
        {
            await _hub.Groups.AddToGroupAsync(connectionId, SessionGroups.Therapists(room.AppointmentId)).ConfigureAwait(false);
        }

        await SetConnectionGroupsAsync(room, connectionId, participant.State).ConfigureAwait(false);
        return entry;
    }

    /// <summary>The answer to a join that did not get into the room (<see cref="EnterAsync"/>).</summary>
    private static JoinResult NotEntered(SessionRegistry.Attachment entry) => entry switch
    {
        // Another join of this connection, to another room, got in first.
        SessionRegistry.Attachment.InAnotherRoom => throw new HubException("Leave the other session first."),
        // Nobody hears it: the connection is closed.
        SessionRegistry.Attachment.ConnectionClosed => JoinResult.Refused(JoinReasons.NotFound),
        _ => Refuse(JoinReasons.Ended),
    };

    /// <summary>
    /// Whether <paramref name="room"/>, which a join found open and which has ended since, was closed and let go while
    /// the join was on its way in (End session, a cancel or reschedule, the refusal of its last participant). A closed
    /// room lets nobody in, so the join starts over once: the join rules give the reason (and audit it), or a new room
    /// takes it. An ended room still held here (one adopted ended) is simply <c>ended</c>.
    /// </summary>
    private bool ClosedMeanwhile(SessionRoom room) => !_registry.Holds(room);

    /// <summary>
    /// The participant's relay peer; or, with the reason to refuse the join, none: when the relay is full (participants
    /// per session, or sessions) the participant is taken out of the room again (<see cref="SessionFull"/>), and when
    /// the room was closed on the way in (whoever closed it told this connection) the session has ended.
    /// </summary>
    private async Task<(RouterPeer? Peer, string? Refusal)> PeerOrRefusalAsync(SessionRoom room, ParticipantView participant, string connectionId)
    {
        try
        {
            return _media.Peer(room, participant.Id) is { } peer ? (peer, null) : (null, JoinReasons.Ended);
        }
        catch (MediaLimitExceededException)
        {
            await RefuseAfterEntryAsync(room, participant, connectionId, SessionFull).ConfigureAwait(false);
            return (null, SessionFull);
        }
    }

    /// <summary>
    /// A cancel or a reschedule (which revokes links and can take a therapist off the appointment) committed just after
    /// a join passed the join rules may look for it in the room before it gets there, so every join asks the rules
    /// again once it is in the room: a change committed before that second look refuses the join here (the refusal is
    /// audited by the rules), and one committed after it finds the participant in the room. The participant is taken out
    /// again, their other tabs told why, and the others told they left if they had been in the session. A room left
    /// empty is closed, in one step with ending it, so no other join gets in between.
    /// </summary>
    private async Task RefuseAfterEntryAsync(SessionRoom room, ParticipantView participant, string connectionId, string reason)
    {
        var removed = await TakeOutAsync(room, participant.Id).ConfigureAwait(false);
        if (_registry.CloseIfEmpty(room, _media.CloseRouter))
        {
            return;
        }

        if (removed is null)
        {
            return; // sent away by the change itself meanwhile
        }

        if (removed.State == ParticipantStates.Admitted)
        {
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerLeft(removed.ToPeer() with { Connected = false }).ConfigureAwait(false);
        }

        var otherTabs = removed.Connections.Where(c => c != connectionId).ToList();
        if (otherTabs.Count > 0)
        {
            await _hub.Clients.Clients(otherTabs).SessionEnded(reason).ConfigureAwait(false);
        }

        if (removed.IsTherapist)
        {
            await AfterPresenceChangeAsync(room, removed).ConfigureAwait(false);
        }
    }

    /// <summary>Called between a join's rules check and its entry into the room; tests use it to commit a change in that gap.</summary>
    internal Func<Guid, Task>? AfterJoinRulesCheckedForTests { get; set; }

    private Task JoinRulesChecked(Guid appointmentId) => AfterJoinRulesCheckedForTests?.Invoke(appointmentId) ?? Task.CompletedTask;

    private JoinResult Accepted(SessionRoom room, ParticipantView participant)
    {
        var ice = IceServers.For(_turn.Value, _time, participant.Id, room.Appointment.ClosesAt).Select(s => new IceServerInfo(s.Urls, s.Username, s.Credential)).ToList();
        return new JoinResult(
            true,
            null,
            room.AppointmentId,
            participant.Id,
            participant.Name,
            participant.Role,
            room.ScreenStateOf(participant),
            room.Appointment.OpensAt,
            participant.IsTherapist ? room.Snapshot() : null,
            InSessionExcept(room, participant.Id),
            ice);
    }

    private static JoinResult Refuse(string reason, DateTimeOffset? opensAt = null)
    {
        SessionMetrics.JoinsRefused.WithLabels(reason).Inc();
        // OpensAt tells a client when to try again: only meaningful while the room is not open yet.
        return JoinResult.Refused(reason, reason == JoinReasons.TooEarly ? opensAt : null);
    }

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "A session join was refused: the database is unavailable ({ErrorType})")]
    private partial void LogJoinUnavailable(string errorType);
}
