using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Hosting;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// Runs every session: joins through the join rules, the waiting room, the media gate in the relay, the
/// audit log and the notifications to each participant's tabs. The hub is a thin door to this class.
/// </summary>
/// <remarks>
/// A session's state is in one place: the rooms held here and which connection is in which is the
/// <see cref="SessionRegistry"/>'s; who is in a room, in what state, on which connections, which of them negotiates
/// their media and how many offers they made while waiting is the <see cref="SessionRoom"/>'s; the relay's routers and
/// peers are reached through <see cref="SessionMedia"/>. Only the chat budgets are apart (<see cref="SessionChat"/>),
/// forgotten when a participant is out of the room for good. The concerns are in files of their own: joining
/// (<c>.Joining</c>), the therapist's controls (<c>.TherapistControls</c>), media negotiation (<c>.MediaNegotiation</c>),
/// what people tell each other (<c>.InSession</c>), leaving and dropping (<c>.Presence</c>), changes to the appointment
/// and closing (<c>.AppointmentChanges</c>), rooms moving between nodes (<c>.Cluster</c>), and the timer
/// (<c>.Housekeeping</c>).
/// </remarks>
internal sealed partial class SessionCoordinator : ISessionDoor
{
    /// <summary>A waiting participant who dropped keeps their place this long.</summary>
    public static readonly TimeSpan WaitingGrace = TimeSpan.FromSeconds(60);

    /// <summary>The relay has no room for another participant in this session, or for another session.</summary>
    internal const string SessionFull = "session-full";

    private readonly SessionRegistry _registry = new();
    private readonly SessionMedia _media;
    private readonly SessionChat _chat;
    private readonly JoinService _join;
    private readonly AuditLog _audit;
    private readonly EndSession _endSession;
    private readonly IHubContext<SessionHub, ISessionClient> _hub;
    private readonly TimeProvider _time;
    private readonly IOptions<TurnOptions> _turn;
    private readonly ILogger<SessionCoordinator> _logger;

    public SessionCoordinator(
        JoinService join,
        AuditLog audit,
        EndSession endSession,
        MediaRelayService relay,
        IHubContext<SessionHub, ISessionClient> hub,
        TimeProvider time,
        IOptions<TurnOptions> turn,
        ILogger<SessionCoordinator> logger)
    {
        _join = join;
        _audit = audit;
        _endSession = endSession;
        _media = new SessionMedia(_registry, relay, hub);
        _hub = hub;
        _time = time;
        _chat = new SessionChat(time);
        _turn = turn;
        _logger = logger;
    }

    public SessionRoom? FindRoom(Guid appointmentId) => _registry.Find(appointmentId);

    public Task<int> WaitingCountAsync(Guid appointmentId) =>
        Task.FromResult(FindRoom(appointmentId) is { IsEnded: false } room ? room.Snapshot().Waiting.Count(w => w.Connected) : 0);

    private (SessionRoom Room, ParticipantView Participant) Locate(string connectionId)
    {
        if (_registry.RoomOf(connectionId) is { } room && room.FindByConnection(connectionId) is { } participant)
        {
            return (room, participant);
        }

        throw new HubException("Join the session first.");
    }

    private async Task<bool> AsTherapistAsync(string connectionId, Func<SessionRoom, ParticipantView, Task<bool>> action)
    {
        var (room, participant) = Locate(connectionId);
        if (!participant.IsTherapist || participant.StaffId is null)
        {
            throw new HubException("Only a therapist listed on the appointment can do this.");
        }

        return await action(room, participant).ConfigureAwait(false);
    }

    /// <summary>The participant is out of the room for good (sent away, or the room closed): their chat budget goes.</summary>
    private void ForgetChatBudget(SessionRoom room, string participantId) => _chat.Forget(ChatKey(room, participantId));

    /// <summary>The key of a participant's chat budget (<see cref="SessionChat"/>).</summary>
    private static string ChatKey(SessionRoom room, string participantId) => $"{room.AppointmentId:N}/{participantId}";

    private async Task AuditPresenceAsync(SessionRoom room, ParticipantView participant, string kind)
    {
        await _audit.AppendAsync(room.AppointmentId, kind, ActorOf(participant.StaffId, participant.ContactId)).ConfigureAwait(false);
    }

    private static AuditActor ActorOf(Guid? staffId, Guid? contactId) =>
        staffId is { } staff ? AuditActor.Staff(staff) : AuditActor.Contact(contactId!.Value);

    private Task PublishSnapshotAsync(SessionRoom room) =>
        _hub.Clients.Group(SessionGroups.Therapists(room.AppointmentId)).WaitingRoomChanged(room.Snapshot());

    private static List<PeerInfo> InSessionExcept(SessionRoom room, string participantId) =>
        room.Participants().Where(p => p.State == ParticipantStates.Admitted && p.Id != participantId).Select(p => p.ToPeer()).ToList();
}
