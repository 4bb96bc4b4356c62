using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Hosting;

namespace Teletherapy.Signaling.Sessions;

/// <summary>
/// Runs every session: joins through the join rules, the waiting room, the media gate in the relay, the
/// audit log and the notifications to each participant's tabs. The hub is a thin door to this class.
/// </summary>
internal sealed partial class SessionCoordinator : ISessionDoor, IHostedService, IDisposable
{
    /// <summary>A waiting participant who dropped keeps their place this long.</summary>
    public static readonly TimeSpan WaitingGrace = TimeSpan.FromSeconds(60);

    private const int MaxMessageLength = 500;

    /// <summary>The reason a denied contact's new join is refused.</summary>
    private const string NotAdmitted = "not-admitted";

    /// <summary>The relay has no room for another participant in this session, or for another session.</summary>
    internal const string SessionFull = "session-full";

    private readonly ConcurrentDictionary<Guid, SessionRoom> _rooms = new();
    private readonly ConcurrentDictionary<string, Guid> _connectionRooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _mediaConnections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RouterPeer> _hookedPeers = new(StringComparer.Ordinal);
    private readonly SessionInputs _inputs = new();
    private readonly SessionChat _chat;
    private readonly JoinService _join;
    private readonly AuditLog _audit;
    private readonly EndSession _endSession;
    private readonly MediaRelayService _relay;
    private readonly IHubContext<SessionHub, ISessionClient> _hub;
    private readonly TimeProvider _time;
    private readonly IOptions<TurnOptions> _turn;
    private readonly ILogger<SessionCoordinator> _logger;
    private System.Threading.ITimer? _housekeeping;

    public SessionCoordinator(
        JoinService join,
        AuditLog audit,
        EndSession endSession,
        MediaRelayService relay,
        IHubContext<SessionHub, ISessionClient> hub,
        TimeProvider time,
        IOptions<TurnOptions> turn,
        ILogger<SessionCoordinator> logger)
    {
        _join = join;
        _audit = audit;
        _endSession = endSession;
        _relay = relay;
        _hub = hub;
        _time = time;
        _chat = new SessionChat(time);
        _turn = turn;
        _logger = logger;
    }

    public SessionRoom? FindRoom(Guid appointmentId) => _rooms.TryGetValue(appointmentId, out var room) ? room : null;

    // ---- joining -------------------------------------------------------------------------------

    public Task<JoinResult> JoinTherapistAsync(string connectionId, Guid staffId, string name, Guid appointmentId) =>
        UnlessDatabaseUnavailableAsync(connectionId, () => JoinTherapistAsync(connectionId, staffId, name, appointmentId, firstTry: true));

    private async Task<JoinResult> JoinTherapistAsync(string connectionId, Guid staffId, string name, Guid appointmentId, bool firstTry)
    {
        var check = await _join.CheckTherapistJoinAsync(appointmentId, staffId).ConfigureAwait(false);
        if (!check.Decision.Allowed || check.Appointment is null)
        {
            return Refuse(check.Decision.Reason ?? JoinReasons.NotFound, check.Appointment?.OpensAt);
        }

        var room = RoomFor(check.Appointment);
        if (room.IsEnded)
        {
            return Refuse(JoinReasons.Ended);
        }

        await JoinRulesChecked(appointmentId).ConfigureAwait(false);
        var outcome = room.JoinTherapist(staffId, name, connectionId, _time.GetUtcNow());
        if (outcome.Participant.State == ParticipantStates.SessionEnded)
        {
            return firstTry && ClosedMeanwhile(room)
                ? await JoinTherapistAsync(connectionId, staffId, name, appointmentId, firstTry: false).ConfigureAwait(false)
                : Refuse(JoinReasons.Ended);
        }

        await AttachAsync(connectionId, room, outcome.Participant).ConfigureAwait(false);
        var recheck = await _join.CheckTherapistJoinAsync(appointmentId, staffId).ConfigureAwait(false);
        if (!recheck.Decision.Allowed)
        {
            var reason = recheck.Decision.Reason ?? JoinReasons.NotFound;
            await RefuseAfterEntryAsync(room, outcome.Participant, connectionId, reason).ConfigureAwait(false);
            return Refuse(reason, recheck.Appointment?.OpensAt);
        }

        if (await PeerOrRefusalAsync(room, outcome.Participant, connectionId).ConfigureAwait(false) is not { } therapistPeer)
        {
            return Refuse(SessionFull);
        }

        therapistPeer.SeesWaitingPeers = true;
        therapistPeer.Admit();
        if (outcome.FirstArrival || outcome.Rejoined)
        {
            // A second tab of a therapist already present is neither a join nor a return.
            await _audit.AppendAsync(room.AppointmentId, outcome.Rejoined ? AuditKinds.Rejoined : AuditKinds.Joined, AuditActor.Staff(staffId)).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerJoined(outcome.Participant.ToPeer()).ConfigureAwait(false);
        }

        if (outcome.FirstTherapistArrived)
        {
            await _hub.Clients.Group(SessionGroups.Waiting(room.AppointmentId))
                .StateChanged(new ParticipantStateNotice(ParticipantStates.WaitingToBeAdmitted, "Your therapist has started the session and will let you in shortly.")).ConfigureAwait(false);
        }

        await PublishSnapshotAsync(room).ConfigureAwait(false);
        return Accepted(room, outcome.Participant);
    }

    /// <param name="deviceKey">The key this device got at its first join (<see cref="JoinResult.DeviceKey"/>), if any.</param>
    public Task<JoinResult> JoinWithTokenAsync(string connectionId, string token, string? deviceKey = null) =>
        UnlessDatabaseUnavailableAsync(connectionId, () => JoinWithTokenAsync(connectionId, token, deviceKey, firstTry: true));

    /// <summary>
    /// A join reads the join rules' facts from the database. While it cannot be used the join is refused
    /// <see cref="DatabaseOutage.Reason"/> (the page offers to try again), never a hub error; the sessions in progress
    /// go on. A join that got into the room before the database went away leaves it again.
    /// </summary>
    private async Task<JoinResult> UnlessDatabaseUnavailableAsync(string connectionId, Func<Task<JoinResult>> join)
    {
        try
        {
            return await join().ConfigureAwait(false);
        }
        catch (Exception ex) when (Teletherapy.Scheduling.Data.Database.IsUnavailable(ex))
        {
            DatabaseOutage.Refusals.WithLabels("hub").Inc();
            LogJoinUnavailable(ex.GetType().Name);
            if (_connectionRooms.ContainsKey(connectionId))
            {
                try
                {
                    await LeaveAsync(connectionId).ConfigureAwait(false);
                }
                catch (HubException)
                {
                    // not in the room after all
                }
            }

            return Refuse(DatabaseOutage.Reason);
        }
    }

    private async Task<JoinResult> JoinWithTokenAsync(string connectionId, string token, string? deviceKey, bool firstTry)
    {
        if (string.IsNullOrWhiteSpace(token) || token.Length > 200)
        {
            return Refuse(JoinReasons.NotFound);
        }

        var check = await _join.ResolveJoinTokenAsync(token).ConfigureAwait(false);
        if (!check.Decision.Allowed || check.Appointment is null || check.Contact is null)
        {
            return Refuse(check.Decision.Reason ?? JoinReasons.NotFound, check.Appointment?.OpensAt);
        }

        if (!check.RoomOpen)
        {
            // A good link before the room opens: the join page counts down to OpensAt. Still a refused attempt (audited).
            await _audit.AppendAsync(check.Appointment.Id, AuditKinds.JoinRefused, AuditActor.Contact(check.Contact.Id), JoinReasons.TooEarly).ConfigureAwait(false);
            return Refuse(JoinReasons.TooEarly, check.Appointment.OpensAt);
        }

        var room = RoomFor(check.Appointment);
        if (room.IsEnded)
        {
            return Refuse(JoinReasons.Ended);
        }

        var contact = check.Contact;
        await JoinRulesChecked(room.AppointmentId).ConfigureAwait(false);
        var outcome = room.JoinContact(contact.Id, contact.Name, contact.Role, connectionId, deviceKey is { Length: <= 64 } ? deviceKey : null, _time.GetUtcNow());
        var participant = outcome.Participant;
        if (participant.State == ParticipantStates.SessionEnded)
        {
            return firstTry && ClosedMeanwhile(room)
                ? await JoinWithTokenAsync(connectionId, token, deviceKey, firstTry: false).ConfigureAwait(false)
                : Refuse(JoinReasons.Ended);
        }

        if (participant.State == ParticipantStates.Denied)
        {
            // Denied stays denied for this session: the connection is not attached to the room (no events, no media).
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.JoinRefused, AuditActor.Contact(contact.Id), NotAdmitted).ConfigureAwait(false);
            return Refuse(NotAdmitted);
        }

        await AttachAsync(connectionId, room, participant).ConfigureAwait(false);
        var actor = AuditActor.Contact(contact.Id);
        var recheck = await _join.ResolveJoinTokenAsync(token).ConfigureAwait(false);
        if (!recheck.Decision.Allowed || !recheck.RoomOpen)
        {
            var reason = recheck.Decision.Reason ?? JoinReasons.TooEarly;
            await RefuseAfterEntryAsync(room, participant, connectionId, reason).ConfigureAwait(false);
            return Refuse(reason, recheck.Appointment?.OpensAt);
        }

        if (await PeerOrRefusalAsync(room, participant, connectionId).ConfigureAwait(false) is not { } peer)
        {
            return Refuse(SessionFull);
        }

        if (participant.State == ParticipantStates.Admitted)
        {
            peer.Admit();
            if (outcome.Rejoined)
            {
                await _audit.AppendAsync(room.AppointmentId, AuditKinds.Rejoined, actor).ConfigureAwait(false);
                await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerJoined(participant.ToPeer()).ConfigureAwait(false);
            }
        }
        else if (outcome.Knocked)
        {
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.Knocked, actor, subjectId: contact.Id).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.Therapists(room.AppointmentId)).Knock(participant.ToWaiting()).ConfigureAwait(false);
        }

        await PublishSnapshotAsync(room).ConfigureAwait(false);
        return Accepted(room, participant) with { DeviceKey = outcome.DeviceKey };
    }

    // ---- the therapist's controls --------------------------------------------------------------

    public Task<bool> AdmitAsync(string connectionId, string participantId) =>
        AsTherapistAsync(connectionId, (room, therapist) => AdmitOneAsync(room, therapist, participantId));

    public Task<bool> AdmitAllAsync(string connectionId) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            var any = false;
            foreach (var id in room.WaitingIds())
            {
                any |= await AdmitOneAsync(room, therapist, id).ConfigureAwait(false);
            }

            return any;
        });

    public Task<bool> DenyAsync(string connectionId, string participantId) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            var denied = room.Deny(participantId);
            if (denied is null)
            {
                return false;
            }

            // Deny closes the participant's transports: nothing of theirs stays in the relay.
            RouterFor(room).RemovePeer(denied.Id);
            await SetGroupsAsync(room, denied).ConfigureAwait(false);
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.Denied, AuditActor.Staff(therapist.StaffId!.Value), subjectId: denied.ContactId).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.Participant(room.AppointmentId, denied.Id))
                .StateChanged(new ParticipantStateNotice(ParticipantStates.Denied, "The therapist could not let you in to this session.", therapist.Name)).ConfigureAwait(false);
            await PublishSnapshotAsync(room).ConfigureAwait(false);
            return true;
        });

    public Task<bool> SendToWaitingRoomAsync(string connectionId, string participantId) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            var sent = room.SendBack(participantId, _time.GetUtcNow());
            if (sent is null)
            {
                return false;
            }

            var sentPeer = RouterFor(room).FindPeer(sent.Id);
            sentPeer?.CloseGate();
            // Back in the waiting room the right to share a screen is gone, and so is a share in progress.
            sentPeer?.LimitVideoTracks(VideoTracksFor(sent));
            await SetGroupsAsync(room, sent).ConfigureAwait(false);
            await _audit.AppendAsync(room.AppointmentId, AuditKinds.SentBack, AuditActor.Staff(therapist.StaffId!.Value), subjectId: sent.ContactId).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.Participant(room.AppointmentId, sent.Id))
                .StateChanged(new ParticipantStateNotice(ParticipantStates.SentBack, "You are back in the waiting room. Your therapist will let you in again.", therapist.Name)).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerLeft(sent.ToPeer()).ConfigureAwait(false);
            await PublishSnapshotAsync(room).ConfigureAwait(false);
            return true;
        });

    public Task<bool> MessageWaitingRoomAsync(string connectionId, string text) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            var trimmed = text?.Trim() ?? string.Empty;
            if (trimmed.Length == 0 || trimmed.Length > MaxMessageLength)
            {
                throw new HubException($"A message has 1 to {MaxMessageLength} characters.");
            }

            var message = new WaitingRoomMessage(trimmed, therapist.Name, _time.GetUtcNow());
            await _hub.Clients.Group(SessionGroups.Waiting(room.AppointmentId)).WaitingRoomMessage(message).ConfigureAwait(false);
            return true;
        });

    public Task<bool> EndSessionAsync(string connectionId) =>
        AsTherapistAsync(connectionId, async (room, therapist) =>
        {
            await _endSession.HandleAsync(room.AppointmentId, AuditActor.Staff(therapist.StaffId!.Value)).ConfigureAwait(false);
            await CloseAsync(room, JoinReasons.Ended, new ParticipantStateNotice(ParticipantStates.SessionEnded, "The session has ended. Thank you.", therapist.Name), auditBy: null).ConfigureAwait(false);
            return true;
        });

    // ---- every participant --------------------------------------------------------------------

    public async Task ReportConnectionCheckAsync(string connectionId, ConnectionCheckSummary summary)
    {
        SessionInputs.CheckReport(summary);
        var (room, participant) = Locate(connectionId);
        room.SetConnectionCheck(participant.Id, summary);
        await PublishSnapshotAsync(room).ConfigureAwait(false);
    }

    /// <summary>The browser's publish offer → the relay's answer. Allowed while waiting, so admission is instant.</summary>
    public Task<string> PublishAsync(string connectionId, string offerSdp) => Task.FromResult(Publish(connectionId, offerSdp));

    public Task<string> CreateSubscribeOfferAsync(string connectionId) => Task.FromResult(CreateSubscribeOffer(connectionId));

    public Task<string> CreateSubscribeOfferOnNewConnectionAsync(string connectionId) => Task.FromResult(CreateSubscribeOfferOnNewConnection(connectionId));

    public Task ApplySubscribeAnswerAsync(string connectionId, string answerSdp)
    {
        ApplySubscribeAnswer(connectionId, answerSdp);
        return Task.CompletedTask;
    }

    public Task<int> WaitingCountAsync(Guid appointmentId) =>
        Task.FromResult(FindRoom(appointmentId) is { IsEnded: false } room ? room.Snapshot().Waiting.Count(w => w.Connected) : 0);

    private string Publish(string connectionId, string offerSdp)
    {
        var (room, participant) = Locate(connectionId);
        if (participant.State != ParticipantStates.Admitted)
        {
            _inputs.CountOfferWhileWaiting(PeerKey(room, participant.Id));
        }

        var peer = MediaPeer(room, participant, connectionId);
        // A second video track is a shared screen: therapists always, a contact only while allowed (the relay refuses more).
        peer.LimitVideoTracks(VideoTracksFor(participant));
        var result = peer.Publish(offerSdp ?? string.Empty);
        if (result.Limit == MediaLimits.VideoTracks)
        {
            throw new HubException("screen-share-not-allowed: Only a therapist, or someone a therapist allowed, can share a screen.");
        }

        return result.Succeeded ? result.Sdp! : throw new HubException(result.Error);
    }

    /// <summary>
    /// A subscribe offer for the tracks this participant may receive (gated until admitted), on the receive connection
    /// the relay holds for it, or on a new one when the relay closed the last (the offer's ICE ufrag tells which).
    /// </summary>
    private string CreateSubscribeOffer(string connectionId)
    {
        var (room, participant) = Locate(connectionId);
        var result = MediaPeer(room, participant, connectionId).CreateSubscribeOffer();
        return result.Succeeded ? result.Sdp! : throw new HubException(result.Error);
    }

    /// <summary>
    /// A subscribe offer on a new receive connection (a new ICE ufrag), the one the relay held for this participant
    /// closed with its consumers: the page's connection failed while the relay still held it, and the page answers on a
    /// new <c>RTCPeerConnection</c> at once instead of waiting for the relay's consent timeout.
    /// </summary>
    private string CreateSubscribeOfferOnNewConnection(string connectionId)
    {
        var (room, participant) = Locate(connectionId);
        if (participant.State != ParticipantStates.Admitted)
        {
            // A new connection costs the relay as a publish offer does: bounded alike until admitted.
            _inputs.CountOfferWhileWaiting(PeerKey(room, participant.Id));
        }

        var result = MediaPeer(room, participant, connectionId).CreateSubscribeOfferOnNewConnection();
        return result.Succeeded ? result.Sdp! : throw new HubException(result.Error);
    }

    private void ApplySubscribeAnswer(string connectionId, string answerSdp)
    {
        var (room, participant) = Locate(connectionId);
        var result = MediaPeer(room, participant, connectionId).ApplySubscribeAnswer(answerSdp ?? string.Empty);
        if (!result.Succeeded)
        {
            throw new HubException(result.Error);
        }
    }

    /// <summary>The calling connection leaves on purpose: only it; the participant has left when it was their last.</summary>
    public async Task LeaveAsync(string connectionId)
    {
        var (room, participant) = Locate(connectionId);
        if (room.LeaveConnection(connectionId) is not { } leaving)
        {
            return;
        }

        _connectionRooms.TryRemove(connectionId, out _);
        await RemoveFromAllGroupsAsync(room, connectionId, participant.Id).ConfigureAwait(false);
        if (!leaving.Left)
        {
            return;
        }

        RouterFor(room).RemovePeer(participant.Id);
        _hookedPeers.TryRemove(PeerKey(room, participant.Id), out _);
        _inputs.Forget(PeerKey(room, participant.Id));
        await AuditPresenceAsync(room, participant, AuditKinds.Left).ConfigureAwait(false);
        if (participant.State == ParticipantStates.Admitted)
        {
            // Only the session learns of someone leaving it; a knock that goes away was never in it.
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerLeft(leaving.Participant.ToPeer()).ConfigureAwait(false);
        }

        await AfterPresenceChangeAsync(room, participant).ConfigureAwait(false);
    }

    public async Task DisconnectedAsync(string connectionId)
    {
        if (!_connectionRooms.TryRemove(connectionId, out var appointmentId) || !_rooms.TryGetValue(appointmentId, out var room))
        {
            return;
        }

        var dropped = room.Disconnect(connectionId, _time.GetUtcNow());
        if (dropped is null)
        {
            return;
        }

        if (dropped.State is ParticipantStates.Admitted)
        {
            await AuditPresenceAsync(room, dropped, AuditKinds.Dropped).ConfigureAwait(false);
            await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerLeft(dropped.ToPeer()).ConfigureAwait(false);
        }

        await AfterPresenceChangeAsync(room, dropped).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        SessionMetrics.Track(this);
        _housekeeping = _time.CreateTimer(_ => _ = HousekeepingAsync(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        SessionMetrics.Untrack(this);
        _housekeeping?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        SessionMetrics.Untrack(this);
        _housekeeping?.Dispose();
    }

    internal async Task HousekeepingAsync()
    {
        try
        {
            var now = _time.GetUtcNow();
            foreach (var room in _rooms.Values)
            {
                var expired = room.ExpireDropped(now, WaitingGrace);
                foreach (var participant in expired)
                {
                    RouterFor(room).RemovePeer(participant.Id);
                    _hookedPeers.TryRemove(PeerKey(room, participant.Id), out _);
                    _inputs.Forget(PeerKey(room, participant.Id));
                    if (participant.ContactId is { } contactId)
                    {
                        await _audit.AppendAsync(room.AppointmentId, AuditKinds.Left, AuditActor.Contact(contactId)).ConfigureAwait(false);
                    }
                }

                if (expired.Count > 0)
                {
                    await PublishSnapshotAsync(room).ConfigureAwait(false);
                }
            }
        }
#pragma warning disable CA1031 // Housekeeping must go on for the other sessions.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogHousekeepingFailed(ex);
        }
    }

    // ---- internals ------------------------------------------------------------------------------

    private async Task<bool> AdmitOneAsync(SessionRoom room, ParticipantView therapist, string participantId)
    {
        var admitted = room.Admit(participantId);
        if (admitted is null)
        {
            return false;
        }

        SessionMetrics.WaitBeforeAdmit.Observe(Math.Max(0, (_time.GetUtcNow() - admitted.WaitingSince).TotalSeconds));

        // Opening the gate is all admission does: the participant's transports are already negotiated.
        RouterFor(room).GetOrAddPeer(admitted.Id).Admit();
        _inputs.Forget(PeerKey(room, admitted.Id));
        await SetGroupsAsync(room, admitted).ConfigureAwait(false);
        await _audit.AppendAsync(room.AppointmentId, AuditKinds.Admitted, AuditActor.Staff(therapist.StaffId!.Value), subjectId: admitted.ContactId).ConfigureAwait(false);
        await _hub.Clients.Group(SessionGroups.Participant(room.AppointmentId, admitted.Id))
            .StateChanged(new ParticipantStateNotice(ParticipantStates.Admitted, null, therapist.Name, InSessionExcept(room, admitted.Id))).ConfigureAwait(false);
        await _hub.Clients.Group(SessionGroups.InSession(room.AppointmentId)).PeerJoined(admitted.ToPeer()).ConfigureAwait(false);
        await PublishSnapshotAsync(room).ConfigureAwait(false);
        return true;
    }

    private async Task<bool> AsTherapistAsync(string connectionId, Func<SessionRoom, ParticipantView, Task<bool>> action)
    {
        var (room, participant) = Locate(connectionId);
        if (!participant.IsTherapist || participant.StaffId is null)
        {
            throw new HubException("Only a therapist listed on the appointment can do this.");
        }

        return await action(room, participant).ConfigureAwait(false);
    }

    private (SessionRoom Room, ParticipantView Participant) Locate(string connectionId)
    {
        if (_connectionRooms.TryGetValue(connectionId, out var appointmentId)
            && _rooms.TryGetValue(appointmentId, out var room)
            && room.FindByConnection(connectionId) is { } participant)
        {
            return (room, participant);
        }

        throw new HubException("Join the session first.");
    }

    private SessionRoom RoomFor(SessionAppointment appointment) =>
        _rooms.GetOrAdd(appointment.Id, _ => NewOrAdoptedRoom(appointment));

    /// <summary>
    /// Whether <paramref name="room"/>, which a join found open and which has ended since, was closed and let go while
    /// the join was on its way in (End session, a cancel or reschedule, the refusal of its last participant). A closed
    /// room lets nobody in, so the join starts over once: the join rules give the reason (and audit it), or a new room
    /// takes it. An ended room still held here (one adopted ended) is simply <c>ended</c>.
    /// </summary>
    private bool ClosedMeanwhile(SessionRoom room) => !ReferenceEquals(FindRoom(room.AppointmentId), room);

    private Router RouterFor(SessionRoom room) => _relay.GetOrCreateRouter(RouterId(room));

    /// <summary>
    /// The participant's relay peer, or null when the relay is full (participants per session, or sessions): then the
    /// participant is taken out of the room again and the join is refused <see cref="SessionFull"/>.
    /// </summary>
    private async Task<RouterPeer?> PeerOrRefusalAsync(SessionRoom room, ParticipantView participant, string connectionId)
    {
        try
        {
            return RouterFor(room).GetOrAddPeer(participant.Id);
        }
        catch (MediaLimitExceededException)
        {
            await RefuseAfterEntryAsync(room, participant, connectionId, SessionFull).ConfigureAwait(false);
            return null;
        }
    }

    private static string RouterId(SessionRoom room) => room.AppointmentId.ToString("N");

    private static string PeerKey(SessionRoom room, string participantId) => $"{room.AppointmentId:N}/{participantId}";

    /// <summary>The participant's relay peer; the connection that negotiates media owns it (a second tab takes over).</summary>
    private RouterPeer MediaPeer(SessionRoom room, ParticipantView participant, string connectionId)
    {
        if (participant.State is not (ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack or ParticipantStates.Admitted))
        {
            // A denied participant's open tab must not get a transport back (Deny removed it from the relay).
            throw new HubException("Media is only for participants who wait or are admitted.");
        }

        var peer = RouterFor(room).GetOrAddPeer(participant.Id);
        var key = PeerKey(room, participant.Id);
        _mediaConnections[key] = connectionId;
        if (_hookedPeers.TryAdd(key, peer))
        {
            peer.SubscriptionsChanged += p => _ = PushSubscribeOfferAsync(key, p);
            peer.FirstMediaAfterAdmit += (_, elapsed) => SessionMetrics.AdmitToFirstPacket.Observe(elapsed.TotalSeconds);
        }

        return peer;
    }

    private async Task PushSubscribeOfferAsync(string key, RouterPeer peer)
    {
        try
        {
            if (peer.IsClosed || !_mediaConnections.TryGetValue(key, out var connection))
            {
                return;
            }

            var offer = peer.CreateSubscribeOffer();
            if (offer.Succeeded)
            {
                await _hub.Clients.Client(connection).SubscribeOffer(offer.Sdp!).ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task AttachAsync(string connectionId, SessionRoom room, ParticipantView participant)
    {
        _connectionRooms[connectionId] = room.AppointmentId;
        await _hub.Groups.AddToGroupAsync(connectionId, SessionGroups.All(room.AppointmentId)).ConfigureAwait(false);
        await _hub.Groups.AddToGroupAsync(connectionId, SessionGroups.Participant(room.AppointmentId, participant.Id)).ConfigureAwait(false);
        if (participant.IsTherapist)
        {
            await _hub.Groups.AddToGroupAsync(connectionId, SessionGroups.Therapists(room.AppointmentId)).ConfigureAwait(false);
        }

        await SetConnectionGroupsAsync(room, connectionId, participant.State).ConfigureAwait(false);
    }

    /// <summary>Moves every tab of the participant between the waiting and in-session groups.</summary>
    private async Task SetGroupsAsync(SessionRoom room, ParticipantView participant)
    {
        foreach (var connection in participant.Connections)
        {
            await SetConnectionGroupsAsync(room, connection, participant.State).ConfigureAwait(false);
        }
    }

    private async Task SetConnectionGroupsAsync(SessionRoom room, string connectionId, string state)
    {
        var inSession = state == ParticipantStates.Admitted;
        var waiting = state is ParticipantStates.WaitingToBeAdmitted or ParticipantStates.SentBack;
        var groups = _hub.Groups;
        await (inSession ? groups.AddToGroupAsync(connectionId, SessionGroups.InSession(room.AppointmentId)) : groups.RemoveFromGroupAsync(connectionId, SessionGroups.InSession(room.AppointmentId))).ConfigureAwait(false);
        await (waiting ? groups.AddToGroupAsync(connectionId, SessionGroups.Waiting(room.AppointmentId)) : groups.RemoveFromGroupAsync(connectionId, SessionGroups.Waiting(room.AppointmentId))).ConfigureAwait(false);
    }

    private async Task RemoveFromAllGroupsAsync(SessionRoom room, string connectionId, string participantId)
    {
        foreach (var group in new[]
                 {
                     SessionGroups.All(room.AppointmentId), SessionGroups.Therapists(room.AppointmentId), SessionGroups.Waiting(room.AppointmentId),
                     SessionGroups.InSession(room.AppointmentId), SessionGroups.Participant(room.AppointmentId, participantId),
                 })
        {
            await _hub.Groups.RemoveFromGroupAsync(connectionId, group).ConfigureAwait(false);
        }
    }

    private async Task AuditPresenceAsync(SessionRoom room, ParticipantView participant, string kind)
    {
        await _audit.AppendAsync(room.AppointmentId, kind, ActorOf(participant.StaffId, participant.ContactId)).ConfigureAwait(false);
    }

    private static AuditActor ActorOf(Guid? staffId, Guid? contactId) =>
        staffId is { } staff ? AuditActor.Staff(staff) : AuditActor.Contact(contactId!.Value);

    /// <summary>After someone left or dropped: the queue view, and the waiting screens when the last therapist went.</summary>
    private async Task AfterPresenceChangeAsync(SessionRoom room, ParticipantView participant)
    {
        if (participant.IsTherapist && !room.IsTherapistPresent)
        {
            await _hub.Clients.Group(SessionGroups.Waiting(room.AppointmentId))
                .StateChanged(new ParticipantStateNotice(ParticipantStates.WaitingForTherapist, "Your therapist has not started the session yet.")).ConfigureAwait(false);
        }

        await PublishSnapshotAsync(room).ConfigureAwait(false);
    }

    private Task PublishSnapshotAsync(SessionRoom room) =>
        _hub.Clients.Group(SessionGroups.Therapists(room.AppointmentId)).WaitingRoomChanged(room.Snapshot());

    private JoinResult Accepted(SessionRoom room, ParticipantView participant)
    {
        var ice = IceServers.For(_turn.Value, _time, participant.Id, room.Appointment.ClosesAt).Select(s => new IceServerInfo(s.Urls, s.Username, s.Credential)).ToList();
        return new JoinResult(
            true,
            null,
            room.AppointmentId,
            participant.Id,
            participant.Name,
            participant.Role,
            room.ScreenStateOf(participant),
            room.Appointment.OpensAt,
            participant.IsTherapist ? room.Snapshot() : null,
            InSessionExcept(room, participant.Id),
            ice);
    }

    private static List<PeerInfo> InSessionExcept(SessionRoom room, string participantId) =>
        room.Participants().Where(p => p.State == ParticipantStates.Admitted && p.Id != participantId).Select(p => p.ToPeer()).ToList();

    private static JoinResult Refuse(string reason, DateTimeOffset? opensAt = null)
    {
        SessionMetrics.JoinsRefused.WithLabels(reason).Inc();
        // OpensAt tells a client when to try again: only meaningful while the room is not open yet.
        return JoinResult.Refused(reason, reason == JoinReasons.TooEarly ? opensAt : null);
    }

    /// <summary>This coordinator's share of the session gauges (<see cref="SessionMetrics"/> sums them at scrape time).</summary>
    internal (int Active, int Waiting) GaugeValues()
    {
        var active = 0;
        var waiting = 0;
        foreach (var room in _rooms.Values)
        {
            if (room.IsEnded)
            {
                continue;
            }

            if (room.ConnectedCount > 0)
            {
                active++;
            }

            waiting += room.WaitingCount;
        }

        return (active, waiting);
    }

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "A session join was refused: the database is unavailable ({ErrorType})")]
    private partial void LogJoinUnavailable(string errorType);

    [LoggerMessage(EventId = 3100, Level = LogLevel.Error, Message = "Session housekeeping failed")]
    private partial void LogHousekeepingFailed(Exception exception);
}
