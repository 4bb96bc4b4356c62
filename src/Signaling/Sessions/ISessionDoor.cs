namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// What the hub asks of the sessions, for one connection. On one node the <see cref="SessionCoordinator"/> answers
/// itself; in a cluster the call goes to the node that is the room's home (<c>Cluster/ClusterSessionDoor.cs</c>).
/// </summary>
internal interface ISessionDoor
{
    Task<JoinResult> JoinTherapistAsync(string connectionId, Guid staffId, string name, Guid appointmentId);

    Task<JoinResult> JoinWithTokenAsync(string connectionId, string token, string? deviceKey = null);

    Task<bool> AdmitAsync(string connectionId, string participantId);

    Task<bool> AdmitAllAsync(string connectionId);

    Task<bool> DenyAsync(string connectionId, string participantId);

    Task<bool> SendToWaitingRoomAsync(string connectionId, string participantId);

    Task<bool> MessageWaitingRoomAsync(string connectionId, string text);

    Task<bool> EndSessionAsync(string connectionId);

    Task ReportConnectionCheckAsync(string connectionId, ConnectionCheckSummary summary);

    Task SetMediaStateAsync(string connectionId, bool microphoneOff, bool cameraOff);

    Task<bool> SendChatMessageAsync(string connectionId, string text);

    Task<bool> AllowScreenShareAsync(string connectionId, string participantId, bool allowed);

    Task<string> PublishAsync(string connectionId, string offerSdp);

    Task<string> CreateSubscribeOfferAsync(string connectionId);

    Task<string> CreateSubscribeOfferOnNewConnectionAsync(string connectionId);

    Task ApplySubscribeAnswerAsync(string connectionId, string answerSdp);

    Task<bool> SetVideoSizeAsync(string connectionId, string streamId, int width, int height);

    Task LeaveAsync(string connectionId);

    Task DisconnectedAsync(string connectionId);

    /// <summary>How many people wait, connected, in the appointment's waiting room (0 when its room is not open).</summary>
    Task<int> WaitingCountAsync(Guid appointmentId);
}
