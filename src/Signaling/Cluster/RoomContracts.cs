using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// An appointment's session room in the cluster: one activation at a time, placed on the node with the fewest rooms.
/// That node is the room's home: its coordinator holds the waiting room and admission, its relay the media. Hub
/// connections on any node reach the room through this grain. Records of the hub contract cross as JSON.
/// </summary>
[Alias("teletherapy.room")]
public interface IRoomGrain : IGrainWithGuidKey
{
    [Alias("join-therapist")]
    Task<RoomReply> JoinTherapist(RoomCaller caller, Guid staffId, string name);

    [Alias("join-token")]
    Task<RoomReply> JoinWithToken(RoomCaller caller, string token, string? deviceKey);

    [Alias("call")]
    Task<RoomReply> Call(RoomCaller caller, RoomCall call, string? argument);

    [Alias("disconnected")]
    Task Disconnected(string connectionId);

    [Alias("waiting-count")]
    Task<int> WaitingCount();

    /// <summary>The room moves to an open node once idle (its node drains).</summary>
    [Alias("release")]
    Task Release();

    /// <summary>The node this room lives on (its home).</summary>
    [Alias("home")]
    Task<SiloAddress> Home();
}

/// <summary>The calls of a joined connection, by name (each is the hub method of the same name).</summary>
public enum RoomCall
{
    Admit,
    AdmitAll,
    Deny,
    SendToWaitingRoom,
    MessageWaitingRoom,
    EndSession,
    ReportConnectionCheck,
    SetMediaState,
    SendChatMessage,
    AllowScreenShare,
    Publish,
    CreateSubscribeOffer,
    ApplySubscribeAnswer,
    Leave,
    CreateSubscribeOfferOnNewConnection,
    SetVideoSize,
}

/// <summary>Who calls: a hub connection, the node it is on and that node's inbox for the room's events to it.</summary>
[GenerateSerializer, Immutable, Alias("teletherapy.room-caller")]
public sealed record RoomCaller([property: Id(0)] string ConnectionId, [property: Id(1)] SiloAddress Node, [property: Id(2)] INodeInbox Inbox);

/// <summary>A call's outcome: its value as JSON, or the error the hub raises to the caller; a join's also names the room's home.</summary>
[GenerateSerializer, Immutable, Alias("teletherapy.room-reply")]
public sealed record RoomReply([property: Id(0)] string? Json, [property: Id(1)] string? Error, [property: Id(2)] SiloAddress? Home = null);

/// <summary>Each node's inbox for the events rooms elsewhere send to the hub connections it holds.</summary>
[Alias("teletherapy.node-inbox")]
public interface INodeInbox : IGrainObserver
{
    /// <summary>Sends a hub event (the client method and its arguments as a JSON array) to these connections of this node.</summary>
    [OneWay, Alias("deliver")]
    Task Deliver(string[] connectionIds, string method, string argumentsJson);
}

/// <summary>The arguments of <see cref="RoomCall.SetMediaState"/>, as JSON.</summary>
internal sealed record MediaStateArgument(bool MicrophoneOff, bool CameraOff);

/// <summary>The arguments of <see cref="RoomCall.AllowScreenShare"/>, as JSON.</summary>
internal sealed record ScreenShareArgument(string ParticipantId, bool Allowed);

/// <summary>The arguments of <see cref="RoomCall.SetVideoSize"/>, as JSON.</summary>
internal sealed record VideoSizeArgument(string StreamId, int Width, int Height);
