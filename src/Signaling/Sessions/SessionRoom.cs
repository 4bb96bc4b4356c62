using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// The state of one appointment's session: who is waiting, who is admitted, who is connected on which tabs, and which
/// tab negotiates each one's media (<see cref="ClaimMedia"/>). Keyed by
/// participant (a staff member or a contact), never by connection, so a refresh, a dropped network or a
/// second tab keeps the participant's place (README: The join rules). All changes happen under one lock; callers
/// turn the returned outcomes into notifications, audit events and media-gate changes outside it.
/// What must outlive this node (admissions, denials, the queue, device keys) is taken by <see cref="Capture"/> and
/// brought back elsewhere by <see cref="Restore"/>; <see cref="Version"/> counts the changes worth keeping.
/// </summary>
internal sealed class SessionRoom
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Participant> _participants = new(StringComparer.Ordinal);
    private int _devices;
    private long _version;
    private long _chatSequence;
    private readonly Dictionary<string, string> _connections = new(StringComparer.Ordinal);

    private SessionAppointment _appointment;

    public SessionRoom(SessionAppointment appointment)
    {
        _appointment = appointment;
    }

    /// <summary>The appointment as last known: replaced when it is rescheduled while the room is open.</summary>
    public SessionAppointment Appointment => Volatile.Read(ref _appointment);

    public Guid AppointmentId => Appointment.Id;

    public bool IsEnded { get; private set; }

    /// <summary>
    /// Grows by one with every change a restored room must know (a join, admit, deny, send back, leave, expiry, removal,
    /// connection-check report, a drop, the end); reads and reschedules leave it alone. A restored room goes on from the
    /// captured value, so a store can keep the highest version and skip writes it already has.
    /// </summary>
    public long Version => Interlocked.Read(ref _version);

    public static string TherapistId(Guid staffId) => "staff-" + staffId.ToString("N");

    public static string ContactId(Guid contactId) => "contact-" + contactId.ToString("N");

    /// <summary>The next chat message's number (from 1). Kept only while the room is here: messages are not kept at all.</summary>
    public long NextChatSequence() => Interlocked.Increment(ref _chatSequence);

    /// <summary>A listed therapist with at least one live connection is in the session.</summary>
    public bool IsTherapistPresent
    {
        get
        {
            lock (_lock)
            {
                return TherapistPresent();
            }
        }
    }

    public int WaitingCount
    {
        get
        {
            lock (_lock)
            {
                return _participants.Values.Count(p => p.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack);
            }
        }
    }

    public int ConnectedCount
    {
        get
        {
            lock (_lock)
            {
                return _participants.Values.Count(p => p.Connections.Count > 0);
            }
        }
    }

    /// <summary>
    /// A therapist joins (or comes back, or opens a second tab). Therapists are always in the session, until it ends:
    /// then the join changes nothing and the therapist is told the session ended.
    /// </summary>
    public JoinOutcome JoinTherapist(Guid staffId, string name, string connectionId, DateTimeOffset now)
    {
        lock (_lock)
        {
            var id = TherapistId(staffId);
            var existed = _participants.TryGetValue(id, out var participant);
            if (IsEnded)
            {
                return Refused(participant is not null ? Copy(participant) : new ParticipantView(id, name, ParticipantRoles.Therapist, staffId, null, ParticipantStates.SessionEnded, now, [], null));
            }

            var wasAbsent = !existed || participant!.Connections.Count == 0;
            var firstTherapist = !TherapistPresent();
            participant ??= _participants[id] = new Participant(id, name, ParticipantRoles.Therapist, staffId, null, now);
            participant.State = ParticipantStates.Admitted;
            participant.EverAdmitted = true;
            participant.DisconnectedAt = null;
            Attach(participant, connectionId);
            Changed();
            return new JoinOutcome(Copy(participant), Knocked: false, Rejoined: existed && wasAbsent, FirstArrival: !existed, FirstTherapistArrived: firstTherapist);
        }
    }

    /// <summary>
    /// A contact arrives with a good link on a device. Each device holds a key the room hands out at its first join
    /// (<see cref="JoinOutcome.DeviceKey"/>): only the same key returns to a seat as it was (admitted → straight back
    /// in, waiting → keeps its place). A link alone proves nothing more: on a device without the key it knocks — taking
    /// over the contact's seat when that seat's device is gone, or as a "second device" of its own while it is here,
    /// so a forwarded link can neither slip in nor push the real patient out. Denied stays denied, on every device
    /// (a denied seat refuses all of them; a denied second device refuses itself). Once the session has ended, nobody
    /// gets back in. A refused join changes nothing and its connection is not attached.
    /// </summary>
    public JoinOutcome JoinContact(Guid contactId, string name, string role, string connectionId, string? deviceKey, DateTimeOffset now)
    {
        lock (_lock)
        {
            var seatId = ContactId(contactId);
            _participants.TryGetValue(seatId, out var seat);
            var device = string.IsNullOrEmpty(deviceKey) ? null : _participants.Values.FirstOrDefault(p => p.ContactId == contactId && KeysMatch(p.DeviceKey, deviceKey));
            if (IsEnded)
            {
                var known = device ?? seat;
                return Refused(known is not null ? Copy(known) : new ParticipantView(seatId, name, role, null, contactId, ParticipantStates.SessionEnded, now, [], null));
            }

            var denied = seat?.State == ParticipantStates.Denied ? seat : device?.State == ParticipantStates.Denied ? device : null;
            if (denied is not null)
            {
                return Refused(Copy(denied));
            }

            if (device is not null)
            {
                return ReturnOnSameDevice(device, connectionId, now);
            }

            if (seat is null)
            {
                seat = _participants[seatId] = new Participant(seatId, name, role, null, contactId, now) { DeviceKey = NewDeviceKey() };
                Attach(seat, connectionId);
                Changed();
                return new JoinOutcome(Copy(seat), Knocked: true, Rejoined: false, FirstArrival: true, FirstTherapistArrived: false, seat.DeviceKey);
            }

            if (seat.Connections.Count == 0)
            {
                // The seat's device is gone: this one takes the seat over, and knocks (being admitted before proves nothing here).
                var wasWaiting = seat.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack;
                seat.DeviceKey = NewDeviceKey();
                seat.State = wasWaiting ? seat.State : ParticipantStates.WaitingToBeAdmitted;
                seat.EverAdmitted = false;
                seat.WaitingSince = wasWaiting ? seat.WaitingSince : now;
                seat.DisconnectedAt = null;
                Attach(seat, connectionId);
                Changed();
                return new JoinOutcome(Copy(seat), Knocked: !wasWaiting, Rejoined: false, FirstArrival: false, FirstTherapistArrived: false, seat.DeviceKey);
            }

            // The seat's device is here: another device knocks on its own, marked for the therapist.
            var id = $"{seatId}-{++_devices}";
            var second = _participants[id] = new Participant(id, name + " (second device)", role, null, contactId, now) { DeviceKey = NewDeviceKey(), SecondDevice = true };
            Attach(second, connectionId);
            Changed();
            return new JoinOutcome(Copy(second), Knocked: true, Rejoined: false, FirstArrival: true, FirstTherapistArrived: false, second.DeviceKey);
        }
    }

    /// <summary>Under the lock: a device with its key comes back (a reload, a reconnect) to its seat as it was.</summary>
    private JoinOutcome ReturnOnSameDevice(Participant participant, string connectionId, DateTimeOffset now)
    {
        var wasAbsent = participant.Connections.Count == 0;
        var knocked = false;
        if (participant.State == ParticipantStates.Left)
        {
            // Someone admitted earlier comes back without knocking (until the session ends); others knock again.
            participant.State = participant.EverAdmitted ? ParticipantStates.Admitted : ParticipantStates.WaitingToBeAdmitted;
            if (!participant.EverAdmitted)
            {
                participant.WaitingSince = now;
                knocked = true;
            }
        }

        participant.DisconnectedAt = null;
        Attach(participant, connectionId);
        Changed();
        return new JoinOutcome(Copy(participant), knocked, Rejoined: wasAbsent && participant.State == ParticipantStates.Admitted, FirstArrival: false, FirstTherapistArrived: false, participant.DeviceKey);
    }

    /// <summary>A join that changes nothing: the participant as they are (or would be); the joining connection is not attached.</summary>
    private static JoinOutcome Refused(ParticipantView participant) =>
        new(participant, Knocked: false, Rejoined: false, FirstArrival: false, FirstTherapistArrived: false);

    private static string NewDeviceKey() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));

    private static bool KeysMatch(string? stored, string offered) =>
        stored is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(stored), Encoding.UTF8.GetBytes(offered));

    /// <summary>Admits a waiting (or sent-back) participant. Null when there is nobody to admit under that id.</summary>
    public ParticipantView? Admit(string participantId) =>
        Change(participantId, p => p.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack, p =>
        {
            p.State = ParticipantStates.Admitted;
            p.EverAdmitted = true;
            p.OffersWhileWaiting = 0;
        });

    public ParticipantView? Deny(string participantId) =>
        Change(participantId, p => p.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack, p => p.State = ParticipantStates.Denied);

    /// <summary>Back to the waiting room: only a contact who is in the session.</summary>
    public ParticipantView? SendBack(string participantId, DateTimeOffset now) =>
        Change(participantId, p => p.State == ParticipantStates.Admitted && p.Role != ParticipantRoles.Therapist, p =>
        {
            p.State = ParticipantStates.SentBack;
            p.MayShareScreen = false;
            p.EverAdmitted = false;
            p.WaitingSince = now; // the queue shows how long they have waited since they were sent back
        });

    /// <summary>Everyone waiting (sent back included) and connected, longest waiting first.</summary>
    public IReadOnlyList<string> WaitingIds()
    {
        lock (_lock)
        {
            return _participants.Values
                .Where(p => p.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack && p.Connections.Count > 0)
                .OrderBy(p => p.WaitingSince)
                .Select(p => p.Id)
                .ToList();
        }
    }

    /// <summary>
    /// What the participant's page says of their microphone and camera. Not kept when the room moves (the page says it
    /// again when it rejoins), so it does not count as a change. Null when there is no such participant.
    /// </summary>
    public ParticipantView? SetMediaState(string participantId, bool microphoneOff, bool cameraOff)
    {
        lock (_lock)
        {
            if (!_participants.TryGetValue(participantId, out var participant))
            {
                return null;
            }

            participant.MicrophoneOff = microphoneOff;
            participant.CameraOff = cameraOff;
            return Copy(participant);
        }
    }

    /// <summary>
    /// A therapist allows a patient or caregiver in the session to share their screen, or takes it back. Null when there
    /// is no such contact in the session (therapists may always share).
    /// </summary>
    public ParticipantView? AllowScreenShare(string participantId, bool allowed)
    {
        lock (_lock)
        {
            if (IsEnded || !_participants.TryGetValue(participantId, out var participant)
                || participant.Role == ParticipantRoles.Therapist || participant.State != ParticipantStates.Admitted)
            {
                return null;
            }

            participant.MayShareScreen = allowed;
            return Copy(participant);
        }
    }

    public void SetConnectionCheck(string participantId, ConnectionCheckSummary summary)
    {
        lock (_lock)
        {
            if (_participants.TryGetValue(participantId, out var participant))
            {
                participant.ConnectionCheck = summary;
                Changed();
            }
        }
    }

    /// <summary>A connection closed. Returns the participant when it was their last one (they dropped).</summary>
    public ParticipantView? Disconnect(string connectionId, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (!_connections.Remove(connectionId, out var id) || !_participants.TryGetValue(id, out var participant))
            {
                return null;
            }

            Detach(participant, connectionId);
            if (participant.Connections.Count > 0)
            {
                return null;
            }

            participant.DisconnectedAt = now;
            Changed();
            return Copy(participant);
        }
    }

    /// <summary>
    /// A connection leaves on purpose (Leave): only that connection is let go. The participant has left when it was
    /// their last one; otherwise (their other tab of the same device) they stay as they are. Null when unknown.
    /// </summary>
    public (ParticipantView Participant, bool Left)? LeaveConnection(string connectionId)
    {
        lock (_lock)
        {
            if (!_connections.Remove(connectionId, out var id) || !_participants.TryGetValue(id, out var participant))
            {
                return null;
            }

            Detach(participant, connectionId);
            if (participant.Connections.Count > 0)
            {
                return (Copy(participant), false);
            }

            // Denied stays denied and ended stays ended: leaving the room does not undo either.
            participant.State = participant.State is ParticipantStates.Denied or ParticipantStates.SessionEnded ? participant.State : ParticipantStates.Left;
            participant.DisconnectedAt = null;
            participant.MayShareScreen = false;
            participant.OffersWhileWaiting = 0;
            Changed();
            return (Copy(participant), true);
        }
    }

    /// <summary>
    /// Waiting (or sent-back) participants who dropped <paramref name="grace"/> or longer ago leave the queue: one who
    /// dropped at T is still waiting at T + grace − 1 tick and has left at T + grace.
    /// </summary>
    public IReadOnlyList<ParticipantView> ExpireDropped(DateTimeOffset now, TimeSpan grace)
    {
        lock (_lock)
        {
            var expired = new List<ParticipantView>();
            foreach (var participant in _participants.Values)
            {
                if (participant.DisconnectedAt is { } at && now - at >= grace
                    && participant.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack)
                {
                    participant.State = ParticipantStates.Left;
                    participant.DisconnectedAt = null;
                    participant.OffersWhileWaiting = 0;
                    expired.Add(Copy(participant));
                }
            }

            if (expired.Count > 0)
            {
                Changed();
            }

            return expired;
        }
    }

    /// <summary>The appointment was rescheduled: its new times and therapists (the same appointment: its id stays).</summary>
    public void Reschedule(SessionAppointment appointment)
    {
        ArgumentNullException.ThrowIfNull(appointment);
        if (appointment.Id != AppointmentId)
        {
            throw new ArgumentException($"The room is of appointment {AppointmentId}, not {appointment.Id}.", nameof(appointment));
        }

        Volatile.Write(ref _appointment, appointment);
    }

    /// <summary>
    /// Sends a participant away for good (their link was revoked, or a therapist is no longer listed): they and their
    /// connections are forgotten, so nothing they send reaches this room any more. Null when there is no such participant.
    /// </summary>
    public ParticipantView? Remove(string participantId)
    {
        lock (_lock)
        {
            if (!_participants.Remove(participantId, out var participant))
            {
                return null;
            }

            ForgetConnections(participant);
            Changed();
            return Copy(participant);
        }
    }

    /// <summary>Under the lock: the participant's connections no longer lead to them.</summary>
    private void ForgetConnections(Participant participant)
    {
        foreach (var connection in participant.Connections)
        {
            _connections.Remove(connection);
        }
    }

    /// <summary>
    /// The session ends for everyone, for good (README: The join rules, "Ending the session stops every link"): every
    /// participant's state is <c>session-ended</c>, the controls refuse and joins change nothing from now on. Returns
    /// everyone with the connections to tell; ending an ended room returns the same and changes nothing.
    /// </summary>
    public IReadOnlyList<ParticipantView> End()
    {
        lock (_lock)
        {
            if (!IsEnded)
            {
                IsEnded = true;
                foreach (var participant in _participants.Values)
                {
                    participant.State = ParticipantStates.SessionEnded;
                }

                Changed();
            }

            return _participants.Values.Select(Copy).ToList();
        }
    }

    /// <summary>
    /// Ends the room only when nobody is in it (a room opened for a join that was then refused): from then on it lets
    /// nobody in, so it can be let go without anyone in it. False when someone is in it, or it had ended already.
    /// </summary>
    public bool EndIfEmpty()
    {
        lock (_lock)
        {
            if (IsEnded || _participants.Count > 0)
            {
                return false;
            }

            IsEnded = true;
            Changed();
            return true;
        }
    }

    /// <summary>
    /// The participant of this connection, whose media this connection negotiates from now on (so new subscribe offers
    /// go to it; a second tab that negotiates takes over) when they may have media: waiting or admitted. Any other state
    /// is returned as it is, and claims nothing. Null when the connection is not in the room.
    /// </summary>
    public ParticipantView? ClaimMedia(string connectionId)
    {
        lock (_lock)
        {
            if (!_connections.TryGetValue(connectionId, out var id) || !_participants.TryGetValue(id, out var participant))
            {
                return null;
            }

            if (participant.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack or ParticipantStates.Admitted)
            {
                participant.MediaConnection = connectionId;
            }

            return Copy(participant);
        }
    }

    /// <summary>
    /// Counts a publish offer of a participant not admitted (each one costs the relay) and returns how many they made:
    /// the count starts again when they are admitted, leave, or lose their place. Zero when there is no such participant.
    /// Not kept when the room moves.
    /// </summary>
    public int CountOfferWhileWaiting(string participantId)
    {
        lock (_lock)
        {
            return _participants.TryGetValue(participantId, out var participant) ? ++participant.OffersWhileWaiting : 0;
        }
    }

    /// <summary>The connection that negotiates the participant's media (<see cref="ClaimMedia"/>), while it is in the room.</summary>
    public string? MediaConnectionOf(string participantId)
    {
        lock (_lock)
        {
            return _participants.TryGetValue(participantId, out var participant) ? participant.MediaConnection : null;
        }
    }

    /// <summary>
    /// What must survive this node, as of <see cref="Version"/>: every participant's seat (state, whether admitted
    /// before, place in the queue, device key, second-device mark, last connection check) and whether the session
    /// ended. Connections are not kept: they belong to this node and end with it.
    /// </summary>
    internal SessionRoomState Capture()
    {
        lock (_lock)
        {
            // In the dictionary's order, so a restored room lists (and breaks queue ties) exactly as this one does.
            var participants = _participants.Values
                .Select(p => new ParticipantState(p.Id, p.Name, p.Role, p.StaffId, p.ContactId, p.State, p.EverAdmitted, p.WaitingSince, p.DeviceKey, p.SecondDevice, p.ConnectionCheck, p.Connections.Count > 0))
                .ToArray();
            return new SessionRoomState(AppointmentId, _version, IsEnded, _devices, participants);
        }
    }

    /// <summary>
    /// The room of <paramref name="appointment"/> as <paramref name="state"/> left it, on a node none of its participants
    /// is connected to yet: everyone who was waiting or admitted counts as dropped at <paramref name="now"/>, so the
    /// usual rules apply from there. A waiting participant keeps their place for <c>SessionCoordinator.WaitingGrace</c>;
    /// an admitted contact coming back with its device key is straight back in (<see cref="JoinContact"/>), another
    /// device of theirs knocks; a therapist's join is a rejoin; denied stays denied. The version goes on from the state's.
    /// </summary>
    internal static SessionRoom Restore(SessionAppointment appointment, SessionRoomState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(appointment);
        ArgumentNullException.ThrowIfNull(state);
        if (state.AppointmentId != appointment.Id)
        {
            throw new ArgumentException($"The state is of appointment {state.AppointmentId}, not {appointment.Id}.", nameof(state));
        }

        var room = new SessionRoom(appointment);
        lock (room._lock)
        {
            foreach (var p in state.Participants)
            {
                var present = p.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack or ParticipantStates.Admitted;
                room._participants.Add(p.Id, new Participant(p.Id, p.Name, p.Role, p.StaffId, p.ContactId, p.WaitingSince)
                {
                    State = p.State,
                    EverAdmitted = p.EverAdmitted,
                    DisconnectedAt = present ? now : null,
                    ConnectionCheck = p.ConnectionCheck,
                    DeviceKey = p.DeviceKey,
                    SecondDevice = p.SecondDevice,
                });
            }

            room._devices = state.Devices;
            // Those who were connected are not any more: the next save must say so, or a later move would count them again.
            room._version = state.Version + (state.Participants.Any(p => p.Connected) ? 1 : 0);
            room.IsEnded = state.IsEnded;
        }

        return room;
    }

    public ParticipantView? Find(string participantId)
    {
        lock (_lock)
        {
            return _participants.TryGetValue(participantId, out var participant) ? Copy(participant) : null;
        }
    }

    public ParticipantView? FindByConnection(string connectionId)
    {
        lock (_lock)
        {
            return _connections.TryGetValue(connectionId, out var id) && _participants.TryGetValue(id, out var participant)
                ? Copy(participant)
                : null;
        }
    }

    public IReadOnlyList<ParticipantView> Participants()
    {
        lock (_lock)
        {
            return _participants.Values.Select(Copy).ToList();
        }
    }

    public WaitingRoomSnapshot Snapshot()
    {
        lock (_lock)
        {
            var waiting = _participants.Values
                .Where(p => p.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack)
                .OrderBy(p => p.WaitingSince)
                .Select(p => new WaitingParticipant(p.Id, p.Name, p.Role, p.WaitingSince, p.Connections.Count > 0, p.ConnectionCheck, p.SecondDevice))
                .ToList();
            var inSession = _participants.Values
                .Where(p => p.State == ParticipantStates.Admitted)
                .Select(p => new PeerInfo(p.Id, p.Name, p.Role, p.Connections.Count > 0, p.MicrophoneOff, p.CameraOff, p.Role == ParticipantRoles.Therapist || p.MayShareScreen))
                .ToList();
            return new WaitingRoomSnapshot(AppointmentId, waiting, inSession);
        }
    }

    /// <summary>The state a participant's own screen shows (waiting splits by whether a therapist is there).</summary>
    public string ScreenStateOf(ParticipantView participant)
    {
        lock (_lock)
        {
            return participant.State is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack && !TherapistPresent()
                ? ParticipantStates.WaitingForTherapist
                : participant.State == ParticipantStates.SentBack ? ParticipantStates.WaitingToBeAdmitted : participant.State;
        }
    }

    private ParticipantView? Change(string participantId, Func<Participant, bool> allowed, Action<Participant> change)
    {
        lock (_lock)
        {
            if (IsEnded || !_participants.TryGetValue(participantId, out var participant) || !allowed(participant))
            {
                return null;
            }

            change(participant);
            Changed();
            return Copy(participant);
        }
    }

    /// <summary>Under the lock: something a restored room must know has changed.</summary>
    private void Changed() => Interlocked.Increment(ref _version);

    private bool TherapistPresent() =>
        _participants.Values.Any(p => p.Role == ParticipantRoles.Therapist && p.Connections.Count > 0);

    private void Attach(Participant participant, string connectionId)
    {
        participant.Connections.Add(connectionId);
        _connections[connectionId] = participant.Id;
    }

    /// <summary>Under the lock: the connection no longer leads to the participant, nor negotiates their media.</summary>
    private static void Detach(Participant participant, string connectionId)
    {
        participant.Connections.Remove(connectionId);
        if (participant.MediaConnection == connectionId)
        {
            participant.MediaConnection = null;
        }
    }

    private static ParticipantView Copy(Participant p) =>
        new(p.Id, p.Name, p.Role, p.StaffId, p.ContactId, p.State, p.WaitingSince, p.Connections.ToList(), p.ConnectionCheck, p.SecondDevice)
        {
            MicrophoneOff = p.MicrophoneOff,
            CameraOff = p.CameraOff,
            MayShareScreen = p.Role == ParticipantRoles.Therapist || p.MayShareScreen,
        };

    private sealed class Participant(string id, string name, string role, Guid? staffId, Guid? contactId, DateTimeOffset waitingSince)
    {
        public string Id { get; } = id;

        public string Name { get; } = name;

        public string Role { get; } = role;

        public Guid? StaffId { get; } = staffId;

        public Guid? ContactId { get; } = contactId;

        public string State { get; set; } = ParticipantStates.WaitingToBeAdmitted;

        public bool EverAdmitted { get; set; }

        public DateTimeOffset WaitingSince { get; set; } = waitingSince;

        public DateTimeOffset? DisconnectedAt { get; set; }

        public HashSet<string> Connections { get; } = new(StringComparer.Ordinal);

        public ConnectionCheckSummary? ConnectionCheck { get; set; }

        /// <summary>The key of the device this seat belongs to (contacts only).</summary>
        public string? DeviceKey { get; set; }

        /// <summary>Another device of a contact whose own device was in the room when this one came.</summary>
        public bool SecondDevice { get; init; }

        public bool MicrophoneOff { get; set; }

        public bool CameraOff { get; set; }

        /// <summary>A contact a therapist allowed to share their screen (cleared when they leave the session).</summary>
        public bool MayShareScreen { get; set; }

        /// <summary>The connection that negotiates their media with the relay (one of <see cref="Connections"/>), if any.</summary>
        public string? MediaConnection { get; set; }

        /// <summary>Publish offers made while not admitted (<see cref="CountOfferWhileWaiting"/>).</summary>
        public int OffersWhileWaiting { get; set; }
    }
}

/// <summary>A copy of a participant's state, safe to use outside the room's lock.</summary>
internal sealed record ParticipantView(
    string Id,
    string Name,
    string Role,
    Guid? StaffId,
    Guid? ContactId,
    string State,
    DateTimeOffset WaitingSince,
    IReadOnlyList<string> Connections,
    ConnectionCheckSummary? ConnectionCheck,
    bool SecondDevice = false)
{
    public bool IsTherapist => Role == ParticipantRoles.Therapist;

    public bool MicrophoneOff { get; init; }

    public bool CameraOff { get; init; }

    /// <summary>Therapists always; a contact while a therapist allows it.</summary>
    public bool MayShareScreen { get; init; }

    public PeerInfo ToPeer() => new(Id, Name, Role, Connections.Count > 0, MicrophoneOff, CameraOff, MayShareScreen);

    public WaitingParticipant ToWaiting() => new(Id, Name, Role, WaitingSince, Connections.Count > 0, ConnectionCheck, SecondDevice);
}

/// <summary>What a join did: the participant after it, and whether it was a knock or a return.</summary>
internal sealed record JoinOutcome(ParticipantView Participant, bool Knocked, bool Rejoined, bool FirstArrival, bool FirstTherapistArrived, string? DeviceKey = null);
