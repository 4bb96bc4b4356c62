using System.Collections.Concurrent;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Signaling.Sessions;

// In a cluster a room moves between nodes: the room's grain saves what must outlive this node (Capture) and, on the
// node the room comes back on, hands the saved state over before anyone rejoins (Adopt). One node never moves a room.
internal sealed partial class SessionCoordinator
{
    private readonly ConcurrentDictionary<Guid, SessionRoomState> _adopted = new();

    /// <summary>
    /// A room's state saved where it lived before: the room is rebuilt from it when it is next needed here. Everyone
    /// admitted and connected when it was saved lost that connection with the room's old node: the audit trail says they
    /// dropped (their rejoin follows as usual).
    /// </summary>
    public async Task AdoptAsync(SessionRoomState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_rooms.ContainsKey(state.AppointmentId))
        {
            return;
        }

        _adopted[state.AppointmentId] = state;
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
        _adopted.TryRemove(appointmentId, out _);
        if (!_rooms.TryRemove(appointmentId, out var room))
        {
            return;
        }

        foreach (var participant in room.Participants())
        {
            ForgetMedia(room, participant.Id);
            foreach (var connection in participant.Connections)
            {
                _connectionRooms.TryRemove(connection, out _);
            }
        }

        _relay.FindRouter(RouterId(room))?.Dispose();
    }

    /// <summary>The appointments whose rooms this node holds (open or ended).</summary>
    public IReadOnlyList<Guid> RoomIds() => _rooms.Keys.ToList();

    private SessionRoom NewOrAdoptedRoom(SessionAppointment appointment) =>
        _adopted.TryRemove(appointment.Id, out var state)
            ? SessionRoom.Restore(appointment, state, _time.GetUtcNow())
            : new SessionRoom(appointment);
}
