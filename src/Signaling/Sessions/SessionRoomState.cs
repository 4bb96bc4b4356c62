using System.Text.Json;
using System.Text.Json.Serialization;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// What a session room must carry to another node when its own goes away (<see cref="SessionRoom.Capture"/>,
/// <see cref="SessionRoom.Restore"/>): the participants' seats in the room's order and whether the session ended.
/// </summary>
/// <param name="Version">The room's <see cref="SessionRoom.Version"/> when captured.</param>
/// <param name="Devices">The count behind second-device ids, so a restored room never hands out one again.</param>
internal sealed record SessionRoomState(Guid AppointmentId, long Version, bool IsEnded, int Devices, IReadOnlyList<ParticipantState> Participants)
{
    public bool Equals(SessionRoomState? other) =>
        other is not null
        && AppointmentId == other.AppointmentId
        && Version == other.Version
        && IsEnded == other.IsEnded
        && Devices == other.Devices
        && Participants.SequenceEqual(other.Participants);

    public override int GetHashCode() => HashCode.Combine(AppointmentId, Version, IsEnded, Devices, Participants.Count);
}

/// <summary>One participant's seat: everything of <c>SessionRoom.Participant</c> except its connections on the old node.</summary>
/// <param name="DeviceKey">The key of the device the seat belongs to (contacts only): it lets that device back in after a restore.</param>
/// <param name="Connected">Whether they were connected when captured: if the room moves, they lost that connection with it.</param>
internal sealed record ParticipantState(
    string Id,
    string Name,
    string Role,
    Guid? StaffId,
    Guid? ContactId,
    string State,
    bool EverAdmitted,
    DateTimeOffset WaitingSince,
    string? DeviceKey,
    bool SecondDevice,
    ConnectionCheckSummary? ConnectionCheck,
    bool Connected = false);

/// <summary>
/// The stored form of a <see cref="SessionRoomState"/>: camelCase JSON. It holds contact names and device keys, so it is
/// kept only where patient data may be kept (the scheduling database) and only as long as the room may come back.
/// </summary>
internal static class SessionRoomStateJson
{
    public static string Serialize(SessionRoomState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return JsonSerializer.Serialize(state, SessionRoomStateJsonContext.Default.SessionRoomState);
    }

    /// <summary>The state back from its JSON. Throws <see cref="JsonException"/> when the text is not a whole state.</summary>
    public static SessionRoomState Deserialize(string json)
    {
        ArgumentException.ThrowIfNullOrEmpty(json);
        return JsonSerializer.Deserialize(json, SessionRoomStateJsonContext.Default.SessionRoomState)
            ?? throw new JsonException("A session room state is a JSON object, not null.");
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(SessionRoomState))]
internal sealed partial class SessionRoomStateJsonContext : JsonSerializerContext;
