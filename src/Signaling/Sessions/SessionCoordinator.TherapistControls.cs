using Microsoft.AspNetCore.SignalR;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Signaling.Sessions;

// The therapist's controls: admit (one or all), deny, send back to the waiting room, message the waiting room, end the
// session. Only a listed therapist in the room may use them (AsTherapistAsync).
internal sealed partial class SessionCoordinator
{
    private const int MaxMessageLength = 500;

    public Task<bool> AdmitAsync(string connectionId, string participantId) =>
        AsTherapistAsync(connectionId, (room, therapist) => AdmitOneAsync(room, therapist, participantId));

    public Task<bool> AdmitAllAsync(string connectionId) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            var any = false;
            foreach (var id in room.WaitingIds())
            {
                any |= await AdmitOneAsync(room, therapist, id).ConfigureAwait(false);
            }

            return any;
        });

    public Task<bool> DenyAsync(string connectionId, string participantId) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            var denied = room.Deny(participantId);
            if (denied is null)
            {
                return false;
            }

            // Deny closes the participant's transports: nothing of theirs stays in the relay.
            _media.RemovePeer(room, denied.Id);
            await SetGroupsAsync(room, denied).ConfigureAwait(false);
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.Denied, AuditActor.Staff(therapist.StaffId!.Value), subjectId: denied.ContactId).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.Participant(room.AppointmentId, denied.Id))
                .StateChanged(new ParticipantStateNotice(ParticipantStates.Denied, "The therapist could not let you in to this session.", therapist.Name)).ConfigureAwait(false);
            await PublishSnapshotAsync(room).ConfigureAwait(false);
            return true;
        });

    public Task<bool> SendToWaitingRoomAsync(string connectionId, string participantId) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            var sent = room.SendBack(participantId, _time.GetUtcNow());
            if (sent is null)
            {
                return false;
            }

            var sentPeer = _media.FindPeer(room, sent.Id);
            sentPeer?.CloseGate();
            // Back in the waiting room the right to share a screen is gone, and so is a share in progress.
            sentPeer?.LimitVideoTracks(SessionMedia.VideoTracksFor(sent));
            await SetGroupsAsync(room, sent).ConfigureAwait(false);
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.SentBack, AuditActor.Staff(therapist.StaffId!.Value), subjectId: sent.ContactId).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.Participant(room.AppointmentId, sent.Id))
                .StateChanged(new ParticipantStateNotice(ParticipantStates.SentBack, "You are back in the waiting room. Your therapist will let you in again.", therapist.Name)).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerLeft(sent.ToPeer()).ConfigureAwait(false);
            await PublishSnapshotAsync(room).ConfigureAwait(false);
            return true;
        });

    public Task<bool> MessageWaitingRoomAsync(string connectionId, string text) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            var trimmed = text?.Trim() ?? string.Empty;
            if (trimmed.Length == 0 || trimmed.Length > MaxMessageLength)
            {
                throw new HubException($"A message has 1 to {MaxMessageLength} characters.");
            }

            var message = new WaitingRoomMessage(trimmed, therapist.Name, _time.GetUtcNow());
            await _hub.Clients.Group(SessionGroups.Waiting(room.AppointmentId)).WaitingRoomMessage(message).ConfigureAwait(false);
            return true;
        });

    public Task<bool> EndSessionAsync(string connectionId) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            await _endSession.HandleAsync(room.AppointmentId, AuditActor.Staff(therapist.StaffId!.Value)).ConfigureAwait(false);
            await CloseAsync(room, JoinReasons.Ended, new ParticipantStateNotice(ParticipantStates.SessionEnded, "The session has ended. Thank you.", therapist.Name), auditBy: null).ConfigureAwait(false);
            return true;
        });

    private async Task<bool> AdmitOneAsync(SessionRoom room, ParticipantView therapist, string participantId)
    {
        var admitted = room.Admit(participantId);
        if (admitted is null)
        {
            return false;
        }

        SessionMetrics.WaitBeforeAdmit.Observe(Math.Max(0, (_time.GetUtcNow() - admitted.WaitingSince).TotalSeconds));

        // Opening the gate is all admission does: the participant's transports are already negotiated.
        _media.Peer(room, admitted.Id)?.Admit();
        await SetGroupsAsync(room, admitted).ConfigureAwait(false);
        await _audit.AppendAsync(room.AppointmentId, AuditKinds.Admitted, AuditActor.Staff(therapist.StaffId!.Value), subjectId: admitted.ContactId).ConfigureAwait(false);
        await _hub.Clients.Group(SessionGroups.Participant(room.AppointmentId, admitted.Id))
            .StateChanged(new ParticipantStateNotice(ParticipantStates.Admitted, null, therapist.Name, InSessionExcept(room, admitted.Id))).ConfigureAwait(false);
        await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerJoined(admitted.ToPeer()).ConfigureAwait(false);
        await PublishSnapshotAsync(room).ConfigureAwait(false);
        return true;
    }
}
