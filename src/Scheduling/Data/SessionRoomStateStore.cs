using Dapper;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Scheduling.Data;

/// <summary>
/// The admission state of each appointment's session room, kept in the installation's database so that a room whose
/// node went away comes back on another node as it was: who was admitted (and on which device), who was denied, who
/// waits and in which order. The state is an opaque text (JSON written by the session side) with a version that only
/// grows: a write never replaces a higher stored version, so a late write from a node that lost the room cannot undo
/// a newer one.
/// </summary>
/// <remarks>
/// What is kept: per participant their name as shown in the room (a contact's name is patient data), role, staff or
/// contact id, admission state, place in the queue, device key and last connection-check result, plus whether the
/// session ended; never media, messages or connection addresses. Why: only so that a session in progress survives the
/// loss of a node. So it is kept no longer than the room can come back: <see cref="PruneAsync"/> deletes the state of
/// every room closed more than <see cref="KeptAfterClose"/> ago (its appointment ended, was ended or was cancelled).
/// </remarks>
public sealed class SessionRoomStateStore
{
    /// <summary>How long a room's state is kept after the room closed.</summary>
    public static readonly TimeSpan KeptAfterClose = TimeSpan.FromDays(1);

    private readonly Database _database;
    private readonly TimeProvider _time;

    internal SessionRoomStateStore(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>
    /// Stores the room state of <paramref name="appointmentId"/> at <paramref name="version"/>, unless a state of that
    /// version or a higher one is stored already. True when written. The appointment must exist.
    /// </summary>
    public async Task<bool> SaveAsync(Guid appointmentId, long version, string stateJson, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        ArgumentException.ThrowIfNullOrEmpty(stateJson);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var written = await connection.ExecuteAsync(
            new CommandDefinition(
                """
                INSERT INTO session_room_states (appointment_id, version, state, updated_at) VALUES (@appointmentId, @version, @stateJson, @now)
                ON CONFLICT (appointment_id) DO UPDATE SET version = excluded.version, state = excluded.state, updated_at = excluded.updated_at
                WHERE session_room_states.version < excluded.version
                """,
                new { appointmentId, version, stateJson, now = _time.GetUtcNow() },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        return written > 0;
    }

    /// <summary>The stored room state of <paramref name="appointmentId"/>, or null when there is none.</summary>
    public async Task<string?> LoadAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<string>(
            new CommandDefinition("SELECT state FROM session_room_states WHERE appointment_id = @appointmentId", new { appointmentId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>The stored version for <paramref name="appointmentId"/>, or null when nothing is stored.</summary>
    internal async Task<long?> VersionAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<long?>(
            new CommandDefinition("SELECT version FROM session_room_states WHERE appointment_id = @appointmentId", new { appointmentId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Forgets the room state of <paramref name="appointmentId"/> (nothing happens when there is none).</summary>
    internal async Task DeleteAsync(Guid appointmentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            new CommandDefinition("DELETE FROM session_room_states WHERE appointment_id = @appointmentId", new { appointmentId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the state of every room that closed more than <see cref="KeptAfterClose"/> ago: its appointment's room
    /// closed by time (end + <see cref="JoinPolicy.GracePeriod"/>), or it was ended or cancelled (the last change of a
    /// no longer scheduled appointment is when its room closed). Returns how many states were deleted.
    /// </summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken = default)
    {
        var closedBefore = _time.GetUtcNow() - KeptAfterClose;
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(
            new CommandDefinition(
                """
                DELETE FROM session_room_states WHERE appointment_id IN (
                    SELECT id FROM appointments
                    WHERE end_at < @endedBefore OR (status <> @scheduled AND updated_at < @closedBefore))
                """,
                new { endedBefore = closedBefore - JoinPolicy.GracePeriod, closedBefore, scheduled = AppointmentStatus.Scheduled },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
    }
}
