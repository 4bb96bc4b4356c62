using Teletherapy.Scheduling.Audit;

namespace Teletherapy.Signaling.Sessions;

// Presence: a tab leaves on purpose or its connection closes, and the groups each tab is in follow its participant's
// state (the waiting room, the session).
internal sealed partial class SessionCoordinator
{
    /// <summary>The calling connection leaves on purpose: only it; the participant has left when it was their last.</summary>
    public async Task LeaveAsync(string connectionId)
    {
        var (room, _) = Locate(connectionId);
        await LeaveRoomAsync(room, connectionId).ConfigureAwait(false);
    }

    /// <summary>
    /// The connection closed. The participant has dropped when it was their last: their place is kept (a waiting one's
    /// for <see cref="WaitingGrace"/>), and their peer stays in the relay for their return.
    /// </summary>
    public async Task DisconnectedAsync(string connectionId)
    {
        if (_registry.Drop(connectionId) is not { } room)
        {
            return;
        }

        var dropped = room.Disconnect(connectionId, _time.GetUtcNow());
        if (dropped is null)
        {
            return;
        }

        if (dropped.State is ParticipantStates.Admitted)
        {
            await AuditPresenceAsync(room, dropped, AuditKinds.Dropped).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerLeft(dropped.ToPeer()).ConfigureAwait(false);
        }

        await AfterPresenceChangeAsync(room, dropped).ConfigureAwait(false);
    }

    private async Task LeaveRoomAsync(SessionRoom room, string connectionId)
    {
        if (room.FindByConnection(connectionId) is not { } participant || room.LeaveConnection(connectionId) is not { } leaving)
        {
            return;
        }

        _registry.Detach(connectionId, room);
        await RemoveFromAllGroupsAsync(room, connectionId, participant.Id).ConfigureAwait(false);
        if (!leaving.Left)
        {
            return;
        }

        _media.RemovePeer(room, participant.Id);
        await AuditPresenceAsync(room, participant, AuditKinds.Left).ConfigureAwait(false);
        if (participant.State == ParticipantStates.Admitted)
        {
            // Only the session learns of someone leaving it; a knock that goes away was never in it.
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerLeft(leaving.Participant.ToPeer()).ConfigureAwait(false);
        }

        await AfterPresenceChangeAsync(room, participant).ConfigureAwait(false);
    }

    /// <summary>After someone left or dropped: the queue view, and the waiting screens when the last therapist went.</summary>
    private async Task AfterPresenceChangeAsync(SessionRoom room, ParticipantView participant)
    {
        if (participant.IsTherapist && !room.IsTherapistPresent)
        {
            await _hub.Clients.Group(SessionGroups.Waiting(room.AppointmentId))
                .StateChanged(new ParticipantStateNotice(ParticipantStates.WaitingForTherapist, "Your therapist has not started the session yet.")).ConfigureAwait(false);
        }

        await PublishSnapshotAsync(room).ConfigureAwait(false);
    }

    /// <summary>Moves every tab of the participant between the waiting and in-session groups.</summary>
    private async Task SetGroupsAsync(SessionRoom room, ParticipantView participant)
    {
        foreach (var connection in participant.Connections)
        {
            await SetConnectionGroupsAsync(room, connection, participant.State).ConfigureAwait(false);
        }
    }

    private async Task SetConnectionGroupsAsync(SessionRoom room, string connectionId, string state)
    {
        var inSession = state == ParticipantStates.Admitted;
        var waiting = state is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack;
        var groups = _hub.Groups;
        await (inSession ? groups.AddToGroupAsync(connectionId, SessionGroups.InSession(room.AppointmentId)) : groups.RemoveFromGroupAsync(connectionId, SessionGroups.InSession(room.AppointmentId))).ConfigureAwait(false);
        await (waiting ? groups.AddToGroupAsync(connectionId, SessionGroups.Waiting(room.AppointmentId)) : groups.RemoveFromGroupAsync(connectionId, SessionGroups.Waiting(room.AppointmentId))).ConfigureAwait(false);
    }

    private async Task RemoveFromAllGroupsAsync(SessionRoom room, string connectionId, string participantId)
    {
        foreach (var group in new[]
                 {
                     SessionGroups.All(room.AppointmentId), SessionGroups.Therapists(room.AppointmentId), SessionGroups.Waiting(room.AppointmentId),
                     SessionGroups.InSession(room.AppointmentId), SessionGroups.Participant(room.AppointmentId, participantId),
                 })
        {
            await _hub.Groups.RemoveFromGroupAsync(connectionId, group).ConfigureAwait(false);
        }
    }
}
