using System.Collections.Concurrent;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// Which session rooms this node holds, which hub connection is in which of them, and the saved state of each room
/// handed over by another node until it is opened here. Opening, closing, adopting and releasing a room, and attaching
/// and dropping a connection, happen under one lock, so that:
/// <list type="bullet">
/// <item>an appointment has at most one room here, and a room saved for adoption is the one opened, once;</item>
/// <item>a connection is in at most one room, and only in a room still held here;</item>
/// <item>a room's connections go with it when it is closed or released, and so does what was made for it while held
/// (<see cref="WhileHeld{T}"/>: its relay router), so nothing of a closed room lives on;</item>
/// <item>a room is let go empty only if nobody can get in any more (<see cref="CloseIfEmpty"/>);</item>
/// <item>a connection that closed while its join was on the way in is not attached after it (<see cref="Joining"/>).</item>
/// </list>
/// Lookups read without the lock. What happens in a room is the room's (<see cref="SessionRoom"/>, its own lock, only
/// ever taken inside this one, never the other way round).
/// </summary>
internal sealed class SessionRegistry
{
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<Guid, SessionRoom> _rooms = new();
    private readonly ConcurrentDictionary<string, SessionRoom> _connections = new(StringComparer.Ordinal);

    // Under _lock.
    private readonly Dictionary<Guid, SessionRoomState> _adopted = new();
    private readonly Dictionary<string, int> _joining = new(StringComparer.Ordinal);
    private readonly HashSet<string> _closedWhileJoining = new(StringComparer.Ordinal);

    /// <summary>What <see cref="Attach"/> did.</summary>
    public enum Attachment
    {
        /// <summary>The connection is in the room (or already was).</summary>
        Attached,

        /// <summary>The room was closed or released meanwhile: not attached.</summary>
        RoomClosed,

        /// <summary>The connection closed while its join was on the way: not attached.</summary>
        ConnectionClosed,

        /// <summary>The connection is in another room: not attached.</summary>
        InAnotherRoom,
    }

    public SessionRoom? Find(Guid appointmentId) => _rooms.TryGetValue(appointmentId, out var room) ? room : null;

    /// <summary>The appointments whose rooms are held here (open or ended).</summary>
    public IReadOnlyList<Guid> RoomIds() => _rooms.Keys.ToList();

    public IReadOnlyList<SessionRoom> Rooms() => _rooms.Values.ToList();

    /// <summary>Whether this very room (not one opened for its appointment since) is held here.</summary>
    public bool Holds(SessionRoom room)
    {
        ArgumentNullException.ThrowIfNull(room);
        return _rooms.TryGetValue(room.AppointmentId, out var held) && ReferenceEquals(held, room);
    }

    /// <summary>
    /// The appointment's room: the one held here, else the one saved for adoption (restored as of
    /// <paramref name="now"/>, and no longer saved), else a new one.
    /// </summary>
    public SessionRoom Open(SessionAppointment appointment, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(appointment);
        if (_rooms.TryGetValue(appointment.Id, out var room))
        {
            return room;
        }

        lock (_lock)
        {
            if (_rooms.TryGetValue(appointment.Id, out room))
            {
                return room;
            }

            room = _adopted.Remove(appointment.Id, out var state) ? SessionRoom.Restore(appointment, state, now) : new SessionRoom(appointment);
            _rooms[appointment.Id] = room;
            return room;
        }
    }

    /// <summary>
    /// Keeps a room's state saved on another node, to be opened from it here (<see cref="Open"/>). False, keeping
    /// nothing, when the room is open here already: it goes on as it is.
    /// </summary>
    public bool Adopt(SessionRoomState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_lock)
        {
            if (_rooms.ContainsKey(state.AppointmentId))
            {
                return false;
            }

            _adopted[state.AppointmentId] = state;
            return true;
        }
    }

    /// <summary>
    /// Makes something for <paramref name="room"/> (its relay router, a peer in it) only while the room is held:
    /// null once it is closed or released. Closing runs under the same lock, so what is made here before the close
    /// is let go by it, and nothing is made after it.
    /// </summary>
    public T? WhileHeld<T>(SessionRoom room, Func<T> make)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(make);
        lock (_lock)
        {
            return Holds(room) ? make() : null;
        }
    }

    /// <summary>
    /// Closes this very room: it is no longer held and its connections are in no room; <paramref name="alsoClose"/>
    /// (its relay router) runs before the lock is let go. False when it was not held (closed by someone else meanwhile).
    /// The room's own state is the caller's to end.
    /// </summary>
    public bool Close(SessionRoom room, Action<SessionRoom>? alsoClose = null)
    {
        lock (_lock)
        {
            return RemoveHeld(room, alsoClose);
        }
    }

    /// <summary>
    /// Closes this very room only when nobody is in it, ending it in the same step (<see cref="SessionRoom.EndIfEmpty"/>),
    /// so a join that found the room open cannot get in after the look: it finds the room ended and starts over.
    /// </summary>
    public bool CloseIfEmpty(SessionRoom room, Action<SessionRoom>? alsoClose = null)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_lock)
        {
            return Holds(room) && room.EndIfEmpty() && RemoveHeld(room, alsoClose);
        }
    }

    /// <summary>
    /// The room no longer lives here: neither it nor a state saved for it is kept, its connections are in no room, and
    /// <paramref name="alsoClose"/> runs under the lock. Returns the room that was held, if any.
    /// </summary>
    public SessionRoom? Release(Guid appointmentId, Action<SessionRoom>? alsoClose = null)
    {
        lock (_lock)
        {
            _adopted.Remove(appointmentId);
            return _rooms.TryGetValue(appointmentId, out var room) && RemoveHeld(room, alsoClose) ? room : null;
        }
    }

    /// <summary>The room the connection is in, if any.</summary>
    public SessionRoom? RoomOf(string connectionId) => _connections.TryGetValue(connectionId, out var room) ? room : null;

    /// <summary>
    /// A join of the connection is on the way in until the returned value is disposed: if the connection closes
    /// meanwhile (<see cref="Drop"/>), <see cref="Attach"/> will not attach it.
    /// </summary>
    public IDisposable Joining(string connectionId)
    {
        lock (_lock)
        {
            _joining[connectionId] = _joining.GetValueOrDefault(connectionId) + 1;
        }

        return new JoinInFlight(this, connectionId);
    }

    /// <summary>
    /// Puts the connection in the room, if the room is still held, the connection is in no other room, and it did
    /// not close during its join.
    /// </summary>
    public Attachment Attach(string connectionId, SessionRoom room)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_lock)
        {
            if (_closedWhileJoining.Contains(connectionId))
            {
                return Attachment.ConnectionClosed;
            }

            if (!Holds(room))
            {
                return Attachment.RoomClosed;
            }

            if (_connections.TryGetValue(connectionId, out var current) && !ReferenceEquals(current, room))
            {
                return Attachment.InAnotherRoom;
            }

            _connections[connectionId] = room;
            return Attachment.Attached;
        }
    }

    /// <summary>The connection left <paramref name="room"/> (only that room: one it is in since is kept).</summary>
    public void Detach(string connectionId, SessionRoom room)
    {
        lock (_lock)
        {
            _connections.TryRemove(KeyValuePair.Create(connectionId, room));
        }
    }

    /// <summary>The connection closed: it is in no room any more. Returns the room it was in, if any.</summary>
    public SessionRoom? Drop(string connectionId)
    {
        lock (_lock)
        {
            if (_joining.ContainsKey(connectionId))
            {
                _closedWhileJoining.Add(connectionId);
            }

            return _connections.TryRemove(connectionId, out var room) ? room : null;
        }
    }

    /// <summary>Under the lock.</summary>
    private bool RemoveHeld(SessionRoom room, Action<SessionRoom>? alsoClose)
    {
        if (!_rooms.TryRemove(KeyValuePair.Create(room.AppointmentId, room)))
        {
            return false;
        }

        foreach (var (connection, held) in _connections)
        {
            if (ReferenceEquals(held, room))
            {
                _connections.TryRemove(KeyValuePair.Create(connection, held));
            }
        }

        alsoClose?.Invoke(room);
        return true;
    }

    private void Joined(string connectionId)
    {
        lock (_lock)
        {
            var left = _joining.GetValueOrDefault(connectionId) - 1;
            if (left > 0)
            {
                _joining[connectionId] = left;
                return;
            }

            _joining.Remove(connectionId);
            _closedWhileJoining.Remove(connectionId);
        }
    }

    /// <summary>A join on its way in (<see cref="Joining"/>); disposing it says the join is done.</summary>
    private sealed class JoinInFlight(SessionRegistry registry, string connectionId) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                registry.Joined(connectionId);
            }
        }
    }
}
