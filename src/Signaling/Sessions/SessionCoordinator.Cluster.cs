using Teletherapy.Scheduling.Audit;

namespace Teletherapy.Signaling.Sessions;

// In a cluster a room moves between nodes: the room's grain saves what must outlive this node (Capture) and, on the
// node the room comes back on, hands the saved state over before anyone rejoins (Adopt). One node never moves a room.
internal sealed partial class SessionCoordinator
{
    /// <summary>
    /// A room's state saved where it lived before: the room is rebuilt from it when it is next needed here
    /// (<see cref="SessionRegistry.Open"/>). Everyone admitted and connected when it was saved lost that connection with
    /// the room's old node: the audit trail says they dropped (their rejoin follows as usual). Nothing changes when the
    /// room is open here already.
    /// </summary>
    public async Task AdoptAsync(SessionRoomState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!_registry.Adopt(state))
        {
            return;
        }

        foreach (var participant in state.Participants.Where(p => p.Connected && p.State == ParticipantStates.Admitted))
        {
            await _audit.AppendAsync(state.AppointmentId, AuditKinds.Dropped, ActorOf(participant.StaffId, participant.ContactId)).ConfigureAwait(false);
        }
    }

    /// <summary>The room's state when it changed since <paramref name="savedVersion"/>; null when it did not or is not here.</summary>
    public SessionRoomState? CaptureIfChanged(Guid appointmentId, long savedVersion) =>
        FindRoom(appointmentId) is { } room && room.Version != savedVersion ? room.Capture() : null;

    /// <summary>
    /// The room no longer lives here (its grain went idle or this node stops): it is forgotten with its relay router.
    /// Nobody is told: an idle room has no one in it, and the people of a stopping node reconnect and rejoin elsewhere.
    /// </summary>
    public void Release(Guid appointmentId)
    {
        if (_registry.Release(appointmentId, _media.CloseRouter) is not { } room)
        {
            return;
        }

        foreach (var participant in room.Participants())
        {
            ForgetChatBudget(room, participant.Id);
        }
    }

    /// <summary>The appointments whose rooms this node holds (open or ended).</summary>
    public IReadOnlyList<Guid> RoomIds() => _registry.RoomIds();
}
