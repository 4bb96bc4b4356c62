namespace Teletherapy.Signaling.Sessions;

// The wire contract of the session hub (/hubs/session), version 1. Records serialize to camelCase JSON.
// Participant states, roles and notice kinds are lower-case strings so that every client can read them.

/// <summary>Participant states as the hub reports them.</summary>
public static class ParticipantStates
{
    /// <summary>In the waiting room; no listed therapist is in the session yet.</summary>
    public const string WaitingForTherapist = "waiting-for-therapist";

    /// <summary>In the waiting room; a therapist is in the session and can admit.</summary>
    public const string WaitingToBeAdmitted = "waiting-to-be-admitted";

    public const string Admitted = "admitted";
    public const string Denied = "denied";
    public const string SentBack = "sent-back";
    public const string SessionEnded = "session-ended";
    public const string Left = "left";
}

/// <summary>Roles in a session.</summary>
public static class ParticipantRoles
{
    public const string Therapist = "therapist";
    public const string Patient = "patient";
    public const string Caregiver = "caregiver";
}

/// <summary>The result of a connection test, as the participant's browser reports it.</summary>
public sealed record ConnectionCheckSummary(string Verdict, bool VideoReturned, bool AudioReturned, int? RoundTripMs, double? LossPercent, int? BitrateKbps);

/// <summary>Someone in the waiting room, as listed therapists see them.</summary>
public sealed record WaitingParticipant(
    string ParticipantId,
    string Name,
    string Role,
    DateTimeOffset WaitingSince,
    bool Connected,
    ConnectionCheckSummary? ConnectionCheck,
    bool SecondDevice = false);

/// <summary>
/// Someone in the session, with what their own page reported of their microphone and camera (<c>SetMediaState</c>): the
/// others' pages mark their tile. Both are false until reported. <c>MayShareScreen</c>: a therapist always may; a
/// patient or caregiver once a therapist allowed it (<c>AllowScreenShare</c>), until it is taken back or they leave the session.
/// </summary>
public sealed record PeerInfo(string ParticipantId, string Name, string Role, bool Connected, bool MicrophoneOff = false, bool CameraOff = false, bool MayShareScreen = false);

/// <summary>The waiting room and session as a therapist sees them.</summary>
public sealed record WaitingRoomSnapshot(Guid AppointmentId, IReadOnlyList<WaitingParticipant> Waiting, IReadOnlyList<PeerInfo> InSession);

/// <summary>What a participant's own screen should say.</summary>
/// <remarks>
/// <c>Peers</c> is set on <c>admitted</c>: who is already in the session, so the screen can name their tiles.
/// <c>Reason</c> is set on <c>session-ended</c> when a change to the appointment, not End session, sent the participant
/// away; it is the join rule's reason a new join would get: <c>cancelled</c> (the appointment was cancelled),
/// <c>link-revoked</c> (it was rescheduled and a new link was emailed), <c>too-early</c> or <c>ended</c> (rescheduled to
/// a time whose room is not open), <c>not-listed</c> (the therapist was taken off the appointment).
/// </remarks>
public sealed record ParticipantStateNotice(string State, string? Message, string? ByName = null, IReadOnlyList<PeerInfo>? Peers = null, string? Reason = null);

/// <summary>A short message from a therapist to everyone waiting ("Running 5 minutes late").</summary>
public sealed record WaitingRoomMessage(string Text, string FromName, DateTimeOffset SentAt);

/// <summary>
/// A chat message in the session, as everyone in it receives it. <c>Sequence</c> counts the session's messages from 1, so
/// every page shows them in the same order. Never stored on the server: once sent it lives only in the pages of the
/// people who were in the session then.
/// </summary>
public sealed record ChatMessage(long Sequence, string FromParticipantId, string FromName, string FromRole, string Text, DateTimeOffset SentAt);

/// <summary>A TURN/STUN server for RTCPeerConnection.</summary>
public sealed record IceServerInfo(IReadOnlyList<string> Urls, string? Username, string? Credential);

/// <summary>
/// The answer to a join: accepted with the participant's id and state, or refused with the rule's reason
/// (<c>not-listed</c>, <c>too-early</c>, <c>ended</c>, <c>cancelled</c>, <c>link-expired</c>, <c>link-revoked</c>,
/// <c>not-found</c>, <c>not-admitted</c>, <c>unauthorized</c>, <c>session-full</c>, <c>forbidden</c>). <c>OpensAt</c> is set when the room is not open yet.
/// </summary>
public sealed record JoinResult(
    bool Accepted,
    string? Reason,
    Guid? AppointmentId,
    string? ParticipantId,
    string? Name,
    string? Role,
    string? State,
    DateTimeOffset? OpensAt,
    WaitingRoomSnapshot? WaitingRoom,
    IReadOnlyList<PeerInfo>? Peers,
    IReadOnlyList<IceServerInfo>? IceServers,
    string? DeviceKey = null)
{
    public static JoinResult Refused(string reason, DateTimeOffset? opensAt = null) =>
        new(false, reason, null, null, null, null, null, opensAt, null, null, null);
}

/// <summary>Server → client events. Every client implements the ones it cares about.</summary>
public interface ISessionClient
{
    /// <summary>To listed therapists: the queue or the session changed.</summary>
    Task WaitingRoomChanged(WaitingRoomSnapshot snapshot);

    /// <summary>To listed therapists: someone arrived in the waiting room (play the knock).</summary>
    Task Knock(WaitingParticipant participant);

    /// <summary>To a participant (all of their tabs): their own state changed.</summary>
    Task StateChanged(ParticipantStateNotice notice);

    /// <summary>To everyone waiting: a therapist's message.</summary>
    Task WaitingRoomMessage(WaitingRoomMessage message);

    /// <summary>To people in the session: someone joined or came back.</summary>
    Task PeerJoined(PeerInfo peer);

    /// <summary>To people in the session: someone left or dropped.</summary>
    Task PeerLeft(PeerInfo peer);

    /// <summary>To people in the session: someone in it turned their microphone or camera off or on, or may now share their screen or no longer.</summary>
    Task PeerMediaChanged(PeerInfo peer);

    /// <summary>To people in the session: a chat message (also to its sender's tabs).</summary>
    Task ChatMessage(ChatMessage message);

    /// <summary>To a participant: a new subscribe offer (tracks came or went); answer with SubscribeAnswer.</summary>
    Task SubscribeOffer(string sdp);

    /// <summary>
    /// The session is over for this connection: <c>ended</c> (End session) to everyone, or the reason of the change to the
    /// appointment that closed it or sent this participant away (see <see cref="ParticipantStateNotice"/>).
    /// </summary>
    Task SessionEnded(string reason);
}
