namespace Teletherapy.Signaling.Sessions;

// What people in the session tell each other beyond media: the state of their own microphone and camera, the chat, and
// who may share a screen; and what a page tells the relay of how large it shows the videos it receives.
internal sealed partial class SessionCoordinator
{
    /// <summary>Video tracks a participant may publish: the camera, and a shared screen for those who may share.</summary>
    private static int VideoTracksFor(ParticipantView participant) => participant.MayShareScreen ? 2 : 1;

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

            RouterFor(room).FindPeer(changed.Id)?.LimitVideoTracks(VideoTracksFor(changed));
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

    /// <summary>The longest stream id a page may name: a participant id, <c>~</c> and a mid.</summary>
    private const int MaxStreamIdLength = 128;

    /// <summary>
    /// How large the caller's page shows a video it receives (by the stream id of its subscribe offer, in device pixels,
    /// 0×0 when out of sight): the relay forwards no larger simulcast layer than covers it (RouterPeer.SetViewSize). Only
    /// someone admitted may say it, and only of the receive side of their own connection that negotiates their media;
    /// anyone else, a stream they do not receive, or a size out of range gets false, and nothing changes.
    /// </summary>
    public Task<bool> SetVideoSizeAsync(string connectionId, string streamId, int width, int height)
    {
        var (room, participant) = Locate(connectionId);
        var set = participant.State == ParticipantStates.Admitted && !room.IsEnded
            && streamId is { Length: > 0 and <= MaxStreamIdLength }
            && _mediaConnections.TryGetValue(PeerKey(room, participant.Id), out var media) && media == connectionId
            && _relay.FindRouter(RouterId(room))?.FindPeer(participant.Id) is { } peer
            && peer.SetViewSize(streamId, width, height);
        return Task.FromResult(set);
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
        _chat.Spend(PeerKey(room, participant.Id));
        var message = new ChatMessage(room.NextChatSequence(), participant.Id, participant.Name, participant.Role, clean, _time.GetUtcNow());
        await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).ChatMessage(message).ConfigureAwait(false);
        return true;
    }
}
