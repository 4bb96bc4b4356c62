using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Orleans;
using Orleans.Runtime;
using Teletherapy.Scheduling.Data;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// The room's activation: it runs on the room's home and hands each call to the coordinator there, after telling the
/// hub connections' manager which node a remote caller is on. Calls to one room take turns, as they would under the
/// room's own lock. The activation stays while people are in the room and goes when it is empty, so an idle room can
/// come back on whichever node then has the fewest. After every call (and every 30 s, for what changed on its own, such
/// as a waiting place that expired) what must outlive the node is saved in the database; an activation on another node
/// starts from it, so admitted people rejoin admitted and the queue keeps its order.
/// </summary>
[RoomPlacement]
internal sealed partial class RoomGrain : Grain, IRoomGrain
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly SessionCoordinator _sessions;
    private readonly ClusterHubLifetimeManager _connections;
    private readonly ILocalSiloDetails _silo;
    private readonly SessionRoomStateStore _store;
    private readonly ILogger<RoomGrain> _logger;
    private readonly NodeDrain _drain;
    private long _savedVersion = -1;

    public RoomGrain(SessionCoordinator sessions, HubLifetimeManager<SessionHub> connections, ILocalSiloDetails silo, SessionRoomStateStore store, NodeDrain drain, ILogger<RoomGrain> logger)
    {
        _drain = drain;
        _logger = logger;
        _sessions = sessions;
        _connections = (ClusterHubLifetimeManager)connections;
        _silo = silo;
        _store = store;
    }

    private Guid AppointmentId => this.GetPrimaryKey();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (await _store.LoadAsync(AppointmentId, cancellationToken).ConfigureAwait(true) is { } json)
        {
            var state = SessionRoomStateJson.Deserialize(json);
            _savedVersion = state.Version;
            await _sessions.AdoptAsync(state).ConfigureAwait(true);
        }

        // Idle rooms are collected after the grain collection age; a room with people in it is kept.
        this.RegisterGrainTimer(KeepWhileOccupiedAsync, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await SaveAsync().ConfigureAwait(true);
        _sessions.Release(AppointmentId);
    }

    public async Task<RoomReply> JoinTherapist(RoomCaller caller, Guid staffId, string name)
    {
        Attach(caller);
        var result = await _sessions.JoinTherapistAsync(caller.ConnectionId, staffId, name, AppointmentId).ConfigureAwait(true);
        await SaveAsync().ConfigureAwait(true);
        return Joined(caller, result);
    }

    public async Task<RoomReply> JoinWithToken(RoomCaller caller, string token, string? deviceKey)
    {
        Attach(caller);
        var result = await _sessions.JoinWithTokenAsync(caller.ConnectionId, token, deviceKey).ConfigureAwait(true);
        if (result.Accepted && result.AppointmentId != AppointmentId)
        {
            // The link belongs to another room than the caller looked up (it changed in between): not joined here.
            await _sessions.LeaveAsync(caller.ConnectionId).ConfigureAwait(true);
            result = JoinResult.Refused(Scheduling.Join.JoinReasons.NotFound);
        }

        await SaveAsync().ConfigureAwait(true);
        return Joined(caller, result);
    }

    public async Task<RoomReply> Call(RoomCaller caller, RoomCall call, string? argument)
    {
        try
        {
            object? value = call switch
            {
                RoomCall.Admit => await _sessions.AdmitAsync(caller.ConnectionId, argument ?? string.Empty).ConfigureAwait(true),
                RoomCall.AdmitAll => await _sessions.AdmitAllAsync(caller.ConnectionId).ConfigureAwait(true),
                RoomCall.Deny => await _sessions.DenyAsync(caller.ConnectionId, argument ?? string.Empty).ConfigureAwait(true),
                RoomCall.SendToWaitingRoom => await _sessions.SendToWaitingRoomAsync(caller.ConnectionId, argument ?? string.Empty).ConfigureAwait(true),
                RoomCall.MessageWaitingRoom => await _sessions.MessageWaitingRoomAsync(caller.ConnectionId, argument ?? string.Empty).ConfigureAwait(true),
                RoomCall.EndSession => await _sessions.EndSessionAsync(caller.ConnectionId).ConfigureAwait(true),
                RoomCall.ReportConnectionCheck => await ReportAsync(caller.ConnectionId, argument).ConfigureAwait(true),
                RoomCall.SetMediaState => await SetMediaStateAsync(caller.ConnectionId, argument).ConfigureAwait(true),
                RoomCall.AllowScreenShare => await AllowScreenShareAsync(caller.ConnectionId, argument).ConfigureAwait(true),
                RoomCall.SendChatMessage => await _sessions.SendChatMessageAsync(caller.ConnectionId, argument ?? string.Empty).ConfigureAwait(true),
                RoomCall.Publish => await _sessions.PublishAsync(caller.ConnectionId, argument ?? string.Empty).ConfigureAwait(true),
                RoomCall.CreateSubscribeOffer => await _sessions.CreateSubscribeOfferAsync(caller.ConnectionId).ConfigureAwait(true),
                RoomCall.CreateSubscribeOfferOnNewConnection => await _sessions.CreateSubscribeOfferOnNewConnectionAsync(caller.ConnectionId).ConfigureAwait(true),
                RoomCall.SetVideoSize => await SetVideoSizeAsync(caller.ConnectionId, argument).ConfigureAwait(true),
                RoomCall.ApplySubscribeAnswer => await Done(_sessions.ApplySubscribeAnswerAsync(caller.ConnectionId, argument ?? string.Empty)).ConfigureAwait(true),
                RoomCall.Leave => await Done(LeaveAsync(caller.ConnectionId)).ConfigureAwait(true),
                _ => throw new HubException("Unknown call."),
            };
            await SaveAsync().ConfigureAwait(true);
            return new RoomReply(JsonSerializer.Serialize(value, Json), null);
        }
        catch (HubException ex)
        {
            return new RoomReply(null, ex.Message);
        }
    }

    public async Task Disconnected(string connectionId)
    {
        await _sessions.DisconnectedAsync(connectionId).ConfigureAwait(true);
        _connections.Forget(connectionId);
        await SaveAsync().ConfigureAwait(true);
    }

    public Task<int> WaitingCount() => _sessions.WaitingCountAsync(AppointmentId);

    public Task Release()
    {
        // Migration asks placement for a new home at once (a draining node is left out) and points the cluster's
        // directory there, so no node's stale cache brings the room back here.
        MigrateOnIdle();
        return Task.CompletedTask;
    }

    public Task<SiloAddress> Home() => Task.FromResult(_silo.SiloAddress);

    private static async Task<object?> Done(Task task)
    {
        await task.ConfigureAwait(true);
        return null;
    }

    private async Task<object?> ReportAsync(string connectionId, string? summaryJson)
    {
        var summary = summaryJson is null ? null : JsonSerializer.Deserialize<ConnectionCheckSummary>(summaryJson, Json);
        await _sessions.ReportConnectionCheckAsync(connectionId, summary ?? throw new HubException("A connection check report is required.")).ConfigureAwait(true);
        return null;
    }

    private async Task<object?> SetMediaStateAsync(string connectionId, string? json)
    {
        var state = json is null ? null : JsonSerializer.Deserialize<MediaStateArgument>(json, Json);
        await _sessions.SetMediaStateAsync(connectionId, state?.MicrophoneOff ?? false, state?.CameraOff ?? false).ConfigureAwait(true);
        return null;
    }

    private Task<bool> SetVideoSizeAsync(string connectionId, string? json)
    {
        var size = json is null ? null : JsonSerializer.Deserialize<VideoSizeArgument>(json, Json);
        return size is null ? Task.FromResult(false) : _sessions.SetVideoSizeAsync(connectionId, size.StreamId, size.Width, size.Height);
    }

    private Task<bool> AllowScreenShareAsync(string connectionId, string? json)
    {
        var change = json is null ? null : JsonSerializer.Deserialize<ScreenShareArgument>(json, Json);
        return _sessions.AllowScreenShareAsync(connectionId, change?.ParticipantId ?? string.Empty, change?.Allowed ?? false);
    }

    private async Task LeaveAsync(string connectionId)
    {
        await _sessions.LeaveAsync(connectionId).ConfigureAwait(true);
        _connections.Forget(connectionId);
    }

    private void Attach(RoomCaller caller)
    {
        if (!caller.Node.Equals(_silo.SiloAddress))
        {
            _connections.Register(caller);
        }
    }

    private RoomReply Joined(RoomCaller caller, JoinResult result)
    {
        if (!result.Accepted)
        {
            _connections.Forget(caller.ConnectionId);
        }

        return new RoomReply(JsonSerializer.Serialize(result, Json), null, _silo.SiloAddress);
    }

    private async Task KeepWhileOccupiedAsync()
    {
        await SaveAsync().ConfigureAwait(true);
        if (!_drain.IsIdle(AppointmentId))
        {
            DelayDeactivation(TimeSpan.FromMinutes(2));
        }
        else if (_drain.IsDraining)
        {
            // The last person left a room on a draining node: it moves now, to an open node.
            MigrateOnIdle();
        }
    }

    /// <summary>
    /// Saves what changed. A database that does not answer does not fail the call: the session goes on here, and the
    /// state is saved at the next call or tick once it answers again.
    /// </summary>
    private async Task SaveAsync()
    {
        if (_sessions.CaptureIfChanged(AppointmentId, _savedVersion) is not { } state)
        {
            return;
        }

        try
        {
            await _store.SaveAsync(AppointmentId, state.Version, SessionRoomStateJson.Serialize(state)).ConfigureAwait(true);
            _savedVersion = state.Version;
        }
        catch (System.Data.Common.DbException ex)
        {
            LogSaveFailed(ex);
        }
        catch (TimeoutException ex)
        {
            LogSaveFailed(ex);
        }
    }

    [LoggerMessage(EventId = 3601, Level = LogLevel.Warning, Message = "A room's state could not be saved; it is saved again at its next change")]
    private partial void LogSaveFailed(Exception exception);
}
