using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Orleans;
using Orleans.Runtime;
using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// The hub's way to the sessions in a cluster: every call of a connection goes to its room's grain, which runs on
/// the room's home (this node or another). A join finds the room (by appointment, or by the appointment of the join
/// link); later calls of the connection go to the room it joined. Nothing of the room is kept here.
/// </summary>
internal sealed class ClusterSessionDoor : ISessionDoor
{
    private readonly IGrainFactory _grains;
    private readonly JoinService _join;
    private readonly ILocalSiloDetails _silo;
    private readonly NodeInbox _inbox;
    private readonly ConcurrentDictionary<string, Guid> _joined = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SiloAddress> _homes = new(StringComparer.Ordinal);
    private INodeInbox? _inboxReference;

    public ClusterSessionDoor(IGrainFactory grains, JoinService join, ILocalSiloDetails silo, NodeInbox inbox)
    {
        _grains = grains;
        _join = join;
        _silo = silo;
        _inbox = inbox;
    }

    public Task<JoinResult> JoinTherapistAsync(string connectionId, Guid staffId, string name, Guid appointmentId) =>
        JoinAsync(connectionId, appointmentId, (room, caller) => room.JoinTherapist(caller, staffId, name));

    public async Task<JoinResult> JoinWithTokenAsync(string connectionId, string token, string? deviceKey = null)
    {
        if (string.IsNullOrWhiteSpace(token) || token.Length > 200
            || await _join.FindAppointmentOfTokenAsync(token).ConfigureAwait(false) is not { } appointmentId)
        {
            return JoinResult.Refused(JoinReasons.NotFound);
        }

        return await JoinAsync(connectionId, appointmentId, (room, caller) => room.JoinWithToken(caller, token, deviceKey)).ConfigureAwait(false);
    }

    public Task<bool> AdmitAsync(string connectionId, string participantId) => CallAsync<bool>(connectionId, RoomCall.Admit, participantId);

    public Task<bool> AdmitAllAsync(string connectionId) => CallAsync<bool>(connectionId, RoomCall.AdmitAll);

    public Task<bool> DenyAsync(string connectionId, string participantId) => CallAsync<bool>(connectionId, RoomCall.Deny, participantId);

    public Task<bool> SendToWaitingRoomAsync(string connectionId, string participantId) => CallAsync<bool>(connectionId, RoomCall.SendToWaitingRoom, participantId);

    public Task<bool> MessageWaitingRoomAsync(string connectionId, string text) => CallAsync<bool>(connectionId, RoomCall.MessageWaitingRoom, text);

    public Task<bool> EndSessionAsync(string connectionId) => CallAsync<bool>(connectionId, RoomCall.EndSession);

    public Task ReportConnectionCheckAsync(string connectionId, ConnectionCheckSummary summary) =>
        CallAsync<object>(connectionId, RoomCall.ReportConnectionCheck, JsonSerializer.Serialize(summary, RoomGrain.Json));

    public Task SetMediaStateAsync(string connectionId, bool microphoneOff, bool cameraOff) =>
        CallAsync<object>(connectionId, RoomCall.SetMediaState, JsonSerializer.Serialize(new MediaStateArgument(microphoneOff, cameraOff), RoomGrain.Json));

    public Task<bool> AllowScreenShareAsync(string connectionId, string participantId, bool allowed) =>
        CallAsync<bool>(connectionId, RoomCall.AllowScreenShare, JsonSerializer.Serialize(new ScreenShareArgument(participantId, allowed), RoomGrain.Json));

    public Task<bool> SendChatMessageAsync(string connectionId, string text) => CallAsync<bool>(connectionId, RoomCall.SendChatMessage, text);

    public async Task<string> PublishAsync(string connectionId, string offerSdp) =>
        (await CallAsync<string>(connectionId, RoomCall.Publish, offerSdp).ConfigureAwait(false))!;

    public async Task<string> CreateSubscribeOfferAsync(string connectionId) =>
        (await CallAsync<string>(connectionId, RoomCall.CreateSubscribeOffer).ConfigureAwait(false))!;

    public async Task<string> CreateSubscribeOfferOnNewConnectionAsync(string connectionId) =>
        (await CallAsync<string>(connectionId, RoomCall.CreateSubscribeOfferOnNewConnection).ConfigureAwait(false))!;

    public Task ApplySubscribeAnswerAsync(string connectionId, string answerSdp) => CallAsync<object>(connectionId, RoomCall.ApplySubscribeAnswer, answerSdp);

    public Task<bool> SetVideoSizeAsync(string connectionId, string streamId, int width, int height) =>
        CallAsync<bool>(connectionId, RoomCall.SetVideoSize, JsonSerializer.Serialize(new VideoSizeArgument(streamId, width, height), RoomGrain.Json));

    public async Task LeaveAsync(string connectionId)
    {
        await CallAsync<object>(connectionId, RoomCall.Leave).ConfigureAwait(false);
        _joined.TryRemove(connectionId, out _);
        _homes.TryRemove(connectionId, out _);
    }

    public async Task DisconnectedAsync(string connectionId)
    {
        _homes.TryRemove(connectionId, out var home);
        if (_joined.TryRemove(connectionId, out var appointmentId) && home is not null)
        {
            try
            {
                await Room(appointmentId).Disconnected(connectionId).ConfigureAwait(false);
            }
            catch (SiloUnavailableException)
            {
                // The room's home is gone with everything it knew of this connection.
            }
        }
    }

    /// <summary>The connections here whose room lived on a node that has died: they rejoin, and find it elsewhere.</summary>
    public IReadOnlyList<string> ConnectionsHomedOn(SiloAddress node) =>
        _homes.Where(h => h.Value.Equals(node)).Select(h => h.Key).ToList();

    public Task<int> WaitingCountAsync(Guid appointmentId) => Room(appointmentId).WaitingCount();

    private IRoomGrain Room(Guid appointmentId) => _grains.GetGrain<IRoomGrain>(appointmentId);

    private RoomCaller Caller(string connectionId) =>
        new(connectionId, _silo.SiloAddress, _inboxReference ??= _grains.CreateObjectReference<INodeInbox>(_inbox));

    private async Task<JoinResult> JoinAsync(string connectionId, Guid appointmentId, Func<IRoomGrain, RoomCaller, Task<RoomReply>> join)
    {
        if (_joined.TryGetValue(connectionId, out var current) && current != appointmentId)
        {
            // One room per connection, as on one node: joining another room leaves the first.
            await LeaveAsync(connectionId).ConfigureAwait(false);
        }

        var reply = await join(Room(appointmentId), Caller(connectionId)).ConfigureAwait(false);
        var result = JsonSerializer.Deserialize<JoinResult>(reply.Json!, RoomGrain.Json)!;
        if (result.Accepted)
        {
            _joined[connectionId] = appointmentId;
            _homes[connectionId] = reply.Home!;
        }

        return result;
    }

    private async Task<T?> CallAsync<T>(string connectionId, RoomCall call, string? argument = null)
    {
        if (!_joined.TryGetValue(connectionId, out var appointmentId))
        {
            throw new HubException("Join the session first.");
        }

        var reply = await Room(appointmentId).Call(Caller(connectionId), call, argument).ConfigureAwait(false);
        if (reply.Error is not null)
        {
            throw new HubException(reply.Error);
        }

        return reply.Json is null ? default : JsonSerializer.Deserialize<T>(reply.Json, RoomGrain.Json);
    }
}
