namespace Teletherapy.Signaling.Sessions;

// What people tell each other beyond media: a waiting participant's connection test, the state of their own microphone
// and camera, the chat, and who may share a screen.
internal sealed partial class SessionCoordinator
{
    /// <summary>A participant's connection test, shown to the therapists with the queue.</summary>
    public async Task ReportConnectionCheckAsync(string connectionId, ConnectionCheckSummary summary)
    {
        SessionInputs.CheckReport(summary);
        var (room, participant) = Locate(connectionId);
        room.SetConnectionCheck(participant.Id, summary);
        await PublishSnapshotAsync(room).ConfigureAwait(false);
    }

    /// <summary>
    /// A therapist allows a contact in the session to share their screen, or takes it back. The relay enforces it: the
    /// contact's publish offers may carry a second video track only while allowed, and taking it back closes a share in
    /// progress at once. Everyone in the session learns of it (PeerMediaChanged), the contact's page included.
    /// </summary>
    public Task<bool> AllowScreenShareAsync(string connectionId, string participantId, bool allowed) =>
        AsTherapistAsync(connectionId, async (room, _) =>
        {
            if (room.AllowScreenShare(participantId ?? string.Empty, allowed) is not { } changed)
            {
                return false;
            }

            _media.FindPeer(room, changed.Id)?.LimitVideoTracks(SessionMedia.VideoTracksFor(changed));
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerMediaChanged(changed.ToPeer()).ConfigureAwait(false);
            await PublishSnapshotAsync(room).ConfigureAwait(false);
            return true;
        });

    /// <summary>
    /// The caller's own microphone and camera state. Anyone joined may say it of themselves (a patient may mute while
    /// waiting); only the session hears of it, and only of people in it: a waiting participant's state reaches the
    /// others with their admission (<see cref="PeerInfo"/> in PeerJoined).
    /// </summary>
    public async Task SetMediaStateAsync(string connectionId, bool microphoneOff, bool cameraOff)
    {
        var (room, participant) = Locate(connectionId);
        if (room.SetMediaState(participant.Id, microphoneOff, cameraOff) is { State: ParticipantStates.Admitted } changed)
        {
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerMediaChanged(changed.ToPeer()).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A chat message from someone in the session (admitted, or a listed therapist, who is admitted by joining) to
    /// everyone in it, numbered so that every page orders them alike. Nobody waiting sends or receives one. The text
    /// is relayed and forgotten: not stored, not audited, not logged (<see cref="SessionChat"/>).
    /// </summary>
    public async Task<bool> SendChatMessageAsync(string connectionId, string text)
    {
        var (room, participant) = Locate(connectionId);
        if (participant.State != ParticipantStates.Admitted || room.IsEnded)
        {
            SessionChat.RefuseNotInSession();
        }

        var clean = SessionChat.Clean(text);
        _chat.Spend(ChatKey(room, participant.Id));
        var message = new ChatMessage(room.NextChatSequence(), participant.Id, participant.Name, participant.Role, clean, _time.GetUtcNow());
        await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).ChatMessage(message).ConfigureAwait(false);
        return true;
    }
}
