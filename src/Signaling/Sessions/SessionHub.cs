using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// The session hub (<c>/hubs/session</c>). Therapists join with their sign-in cookie, patients and caregivers with
/// their join token; both go through the join rules. Everything else is the waiting room and media negotiation.
/// </summary>
internal sealed class SessionHub : Hub<ISessionClient>
{
    private readonly ISessionDoor _sessions;
    private readonly StaffConnections _staffConnections;

    public SessionHub(ISessionDoor sessions, StaffConnections staffConnections)
    {
        _sessions = sessions;
        _staffConnections = staffConnections;
    }

    /// <summary>A staff member's connection is remembered, so that deactivating the account closes it.</summary>
    public override Task OnConnectedAsync()
    {
        SessionMetrics.HubConnections.Inc();
        if (Context.User?.StaffId() is { } staffId)
        {
            _staffConnections.Add(staffId, Context);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// A signed-in therapist joins an appointment's session (R1, R2). The account is read afresh: a scheduler or a
    /// deactivated account is refused (<c>forbidden</c>), as is anyone not listed (<c>not-listed</c>).
    /// </summary>
    public Task<JoinResult> JoinAsTherapist(Guid appointmentId)
    {
        var user = Context.User;
        if (user?.IsInRole(AuthSetup.StaffRole) != true
            || !Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var staffId))
        {
            return Task.FromResult(JoinResult.Refused("unauthorized"));
        }

        return _sessions.JoinTherapistAsync(Context.ConnectionId, staffId, user.FindFirstValue(ClaimTypes.Name) ?? "Therapist", appointmentId);
    }

    /// <summary>
    /// A patient or caregiver joins with the token of their link (email or portal) on a device that has no key yet:
    /// it knocks (or, when nobody of that contact is in the room, takes the contact's place in the queue).
    /// </summary>
    public Task<JoinResult> JoinWithToken(string token) => _sessions.JoinWithTokenAsync(Context.ConnectionId, token);

    /// <summary>
    /// The same, from a device that keeps the key its first join returned (<see cref="JoinResult.DeviceKey"/>): with
    /// it, a reload or a reconnect returns to the device's place as it was (an admitted participant without knocking).
    /// </summary>
    public Task<JoinResult> JoinWithTokenOnDevice(string token, string deviceKey) => _sessions.JoinWithTokenAsync(Context.ConnectionId, token, deviceKey);

    public Task<bool> Admit(string participantId) => _sessions.AdmitAsync(Context.ConnectionId, participantId);

    public Task<bool> AdmitAll() => _sessions.AdmitAllAsync(Context.ConnectionId);

    public Task<bool> Deny(string participantId) => _sessions.DenyAsync(Context.ConnectionId, participantId);

    public Task<bool> SendToWaitingRoom(string participantId) => _sessions.SendToWaitingRoomAsync(Context.ConnectionId, participantId);

    public Task<bool> MessageWaitingRoom(string text) => _sessions.MessageWaitingRoomAsync(Context.ConnectionId, text);

    /// <summary>
    /// A listed therapist allows a patient or caregiver in the session to share their screen, or takes it back (which
    /// stops a share in progress in the relay at once). False when there is no such contact in the session.
    /// </summary>
    public Task<bool> AllowScreenShare(string participantId, bool allowed) => _sessions.AllowScreenShareAsync(Context.ConnectionId, participantId, allowed);

    public Task ReportConnectionCheck(ConnectionCheckSummary summary) => _sessions.ReportConnectionCheckAsync(Context.ConnectionId, summary);

    /// <summary>The caller's own microphone and camera state, for the marks on their tile (<see cref="ISessionClient.PeerMediaChanged"/>).</summary>
    public Task SetMediaState(bool microphoneOff, bool cameraOff) => _sessions.SetMediaStateAsync(Context.ConnectionId, microphoneOff, cameraOff);

    /// <summary>
    /// A chat message to everyone in the session; only someone in it (admitted, or a listed therapist) may send. Refused
    /// with a reason (<see cref="SessionChat"/>): not in the session, empty, too long, or too many too fast.
    /// </summary>
    public Task<bool> SendChatMessage(string text) => _sessions.SendChatMessageAsync(Context.ConnectionId, text);

    /// <summary>The browser's publish offer; returns the relay's answer.</summary>
    public Task<string> Publish(string offerSdp) => _sessions.PublishAsync(Context.ConnectionId, offerSdp);

    /// <summary>
    /// Asks for a subscribe offer (later ones arrive as <see cref="ISessionClient.SubscribeOffer"/>): on the receive
    /// connection the relay holds for the caller, or on a new one when the relay closed the last.
    /// </summary>
    public Task<string> RequestSubscribeOffer() => _sessions.CreateSubscribeOfferAsync(Context.ConnectionId);

    /// <summary>
    /// Asks for a subscribe offer on a new receive connection (a new ICE ufrag): the relay closes the one it held for the
    /// caller. For a page whose receive connection failed while the relay still holds it; answer on a new RTCPeerConnection.
    /// </summary>
    public Task<string> RequestNewSubscribeConnection() => _sessions.CreateSubscribeOfferOnNewConnectionAsync(Context.ConnectionId);

    public Task SubscribeAnswer(string answerSdp) => _sessions.ApplySubscribeAnswerAsync(Context.ConnectionId, answerSdp);

    /// <summary>
    /// How large the caller's page shows a video it receives: the stream id of the subscribe offer (a tile's), and the
    /// tile's size in device pixels (CSS pixels × devicePixelRatio; 0×0 when out of sight). The relay then forwards no
    /// larger simulcast layer than covers it. False, changing nothing, unless the caller is admitted, negotiates their
    /// media on this connection and receives video of that stream, and the size is 0×0 or 1 to 16384 a side.
    /// </summary>
    public Task<bool> SetVideoSize(string streamId, int width, int height) => _sessions.SetVideoSizeAsync(Context.ConnectionId, streamId, width, height);

    public Task Leave() => _sessions.LeaveAsync(Context.ConnectionId);

    public Task<bool> EndSession() => _sessions.EndSessionAsync(Context.ConnectionId);

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        SessionMetrics.HubConnections.Dec();
        _staffConnections.Remove(Context.ConnectionId);
        return _sessions.DisconnectedAsync(Context.ConnectionId);
    }
}
