using System.Text.Json;
using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>A room captured on one node and restored on another: admissions, denials, the queue and device keys survive.</summary>
public sealed class SessionRoomRestoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Later = Now.AddMinutes(7);
    private static readonly Guid Therapist = Guid.NewGuid();
    private static readonly Guid Patient = Guid.NewGuid();

    private readonly SessionAppointment _appointment =
        new(Guid.NewGuid(), Guid.NewGuid(), Now, Now.AddMinutes(50), Now.AddMinutes(-10), Now.AddMinutes(80), "scheduled", [Therapist]);

    private SessionRoom NewRoom() => new(_appointment);

    /// <summary>The node goes away: what it captured comes back through JSON on another node at <see cref="Later"/>.</summary>
    private SessionRoom Moved(SessionRoom room) =>
        SessionRoom.Restore(_appointment, SessionRoomStateJson.Deserialize(SessionRoomStateJson.Serialize(room.Capture())), Later);

    private static JoinOutcome JoinContact(SessionRoom room, Guid contact, string name, string connection, string? key, DateTimeOffset at) =>
        room.JoinContact(contact, name, ParticipantRoles.Patient, connection, key, at);

    [Fact]
    public void An_admitted_contact_back_on_its_device_is_in_without_a_knock_and_the_therapist_rejoins()
    {
        var room = NewRoom();
        room.JoinTherapist(Therapist, "Dr. Ada Weber", "t1", Now);
        var patient = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now);
        room.Admit(patient.Participant.Id);

        var restored = Moved(room);

        Assert.False(restored.IsTherapistPresent);
        Assert.Equal(0, restored.ConnectedCount);
        var back = JoinContact(restored, Patient, "Sam Taylor", "p2", patient.DeviceKey, Later);
        Assert.False(back.Knocked);
        Assert.True(back.Rejoined);
        Assert.False(back.FirstArrival);
        Assert.Equal(patient.Participant.Id, back.Participant.Id);
        Assert.Equal(ParticipantStates.Admitted, back.Participant.State);
        Assert.Equal(patient.DeviceKey, back.DeviceKey);
        Assert.Equal(["p2"], back.Participant.Connections);

        var therapist = restored.JoinTherapist(Therapist, "Dr. Ada Weber", "t2", Later);
        Assert.True(therapist.Rejoined);
        Assert.False(therapist.FirstArrival);
        Assert.True(therapist.FirstTherapistArrived);
        Assert.Equal(2, restored.Snapshot().InSession.Count(p => p.Connected));
    }

    [Fact]
    public void A_new_device_of_an_admitted_contact_knocks_after_a_restore_as_before()
    {
        var room = NewRoom();
        var patient = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now);
        room.Admit(patient.Participant.Id);
        var earlierSecond = JoinContact(room, Patient, "Sam Taylor", "p9", null, Now); // a second device before the move
        Assert.True(earlierSecond.Participant.SecondDevice);

        var restored = Moved(room);
        JoinContact(restored, Patient, "Sam Taylor", "p2", patient.DeviceKey, Later);
        var other = JoinContact(restored, Patient, "Sam Taylor", "p3", "not-the-key", Later);

        Assert.True(other.Knocked);
        Assert.True(other.Participant.SecondDevice);
        Assert.Equal("Sam Taylor (second device)", other.Participant.Name);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, other.Participant.State);
        Assert.NotEqual(earlierSecond.Participant.Id, other.Participant.Id); // second-device ids are not handed out twice
        Assert.True(restored.Find(earlierSecond.Participant.Id)!.SecondDevice);
        Assert.Equal(ParticipantStates.Admitted, restored.Find(patient.Participant.Id)!.State);
    }

    [Fact]
    public void A_link_on_another_device_before_the_admitted_one_is_back_only_knocks_for_the_seat()
    {
        var room = NewRoom();
        var patient = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now);
        room.Admit(patient.Participant.Id);

        var restored = Moved(room);
        var other = JoinContact(restored, Patient, "Sam Taylor", "x1", null, Later);

        Assert.True(other.Knocked);
        Assert.Equal(patient.Participant.Id, other.Participant.Id);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, other.Participant.State);
        Assert.NotEqual(patient.DeviceKey, other.DeviceKey);
    }

    [Fact]
    public void Denied_stays_denied_after_a_restore()
    {
        var room = NewRoom();
        var patient = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now);
        room.Deny(patient.Participant.Id);

        var restored = Moved(room);

        Assert.Equal(ParticipantStates.Denied, JoinContact(restored, Patient, "Sam Taylor", "p2", patient.DeviceKey, Later).Participant.State);
        Assert.Equal(ParticipantStates.Denied, JoinContact(restored, Patient, "Sam Taylor", "p3", null, Later).Participant.State);
        Assert.Empty(restored.Find(patient.Participant.Id)!.Connections);
        Assert.Null(restored.Admit(patient.Participant.Id));
    }

    [Fact]
    public void The_waiting_queue_keeps_its_order_after_a_restore()
    {
        var room = NewRoom();
        room.JoinTherapist(Therapist, "Dr. Ada Weber", "t1", Now);
        // Arrival order differs from queue order: the queue is by waiting-since, and a sent-back participant queues anew.
        var ann = JoinContact(room, Guid.NewGuid(), "Ann", "a1", null, Now.AddSeconds(30));
        var bob = JoinContact(room, Guid.NewGuid(), "Bob", "b1", null, Now.AddSeconds(10));
        var cem = JoinContact(room, Guid.NewGuid(), "Cem", "c1", null, Now.AddSeconds(20));
        room.Admit(bob.Participant.Id);
        room.SendBack(bob.Participant.Id, Now.AddSeconds(40));
        var before = room.Snapshot().Waiting;
        Assert.Equal([cem.Participant.Id, ann.Participant.Id, bob.Participant.Id], before.Select(w => w.ParticipantId));

        var restored = Moved(room);

        var after = restored.Snapshot().Waiting;
        Assert.Equal(before.Select(w => (w.ParticipantId, w.Name, w.Role, w.WaitingSince, w.SecondDevice)), after.Select(w => (w.ParticipantId, w.Name, w.Role, w.WaitingSince, w.SecondDevice)));
        Assert.All(after, w => Assert.False(w.Connected));
        Assert.Equal(ParticipantStates.SentBack, restored.Find(bob.Participant.Id)!.State);

        // Coming back (in another order) keeps each place.
        foreach (var (outcome, name, connection) in new[] { (bob, "Bob", "b2"), (ann, "Ann", "a2"), (cem, "Cem", "c2") })
        {
            var back = JoinContact(restored, outcome.Participant.ContactId!.Value, name, connection, outcome.DeviceKey, Later);
            Assert.False(back.Knocked);
            Assert.Equal(outcome.Participant.Id, back.Participant.Id);
        }

        Assert.Equal(before.Select(w => w.ParticipantId), restored.WaitingIds());
    }

    [Fact]
    public void A_waiting_participant_who_does_not_come_back_within_the_grace_leaves_the_queue()
    {
        var room = NewRoom();
        var waiting = JoinContact(room, Guid.NewGuid(), "Ann", "a1", null, Now);
        var admitted = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now);
        room.Admit(admitted.Participant.Id);

        var restored = Moved(room);

        Assert.Empty(restored.ExpireDropped(Later + SessionCoordinator.WaitingGrace - TimeSpan.FromSeconds(1), SessionCoordinator.WaitingGrace));
        var expired = restored.ExpireDropped(Later + SessionCoordinator.WaitingGrace, SessionCoordinator.WaitingGrace);
        Assert.Equal(waiting.Participant.Id, Assert.Single(expired).Id);
        Assert.Equal(ParticipantStates.Left, restored.Find(waiting.Participant.Id)!.State);
        Assert.Empty(restored.Snapshot().Waiting);
        Assert.Equal(ParticipantStates.Admitted, restored.Find(admitted.Participant.Id)!.State);

        // Coming back on the same device after that is a new knock, as on the node it started on.
        var late = JoinContact(restored, waiting.Participant.ContactId!.Value, "Ann", "a2", waiting.DeviceKey, Later.AddMinutes(5));
        Assert.True(late.Knocked);
        Assert.Equal(Later.AddMinutes(5), late.Participant.WaitingSince);
    }

    [Fact]
    public void The_state_survives_JSON_exactly()
    {
        var room = NewRoom();
        room.JoinTherapist(Therapist, "Dr. Ada Weber", "t1", Now);
        var patient = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now.AddTicks(1234567));
        room.Admit(patient.Participant.Id);
        JoinContact(room, Patient, "Sam Taylor", "p2", null, Now.AddSeconds(5)); // a second device
        var caregiver = room.JoinContact(Guid.NewGuid(), "Lou \"Lu\" Ünal", ParticipantRoles.Caregiver, "c1", null, Now.AddSeconds(9));
        room.SetConnectionCheck(caregiver.Participant.Id, new ConnectionCheckSummary("good", true, false, 42, 0.5, null));
        var denied = JoinContact(room, Guid.NewGuid(), "Eve", "e1", null, Now);
        room.Deny(denied.Participant.Id);
        var state = room.Capture();

        var json = SessionRoomStateJson.Serialize(state);
        var back = SessionRoomStateJson.Deserialize(json);

        Assert.Equal(state, back);
        Assert.Equal(json, SessionRoomStateJson.Serialize(back));
        Assert.Equal(5, back.Participants.Count);
        Assert.Equal(state.Participants.Select(p => p.WaitingSince.UtcTicks), back.Participants.Select(p => p.WaitingSince.UtcTicks));
        Assert.All(state.Participants.Where(p => p.State != ParticipantStates.Denied), p => Assert.True(p.Connected));

        // Restored, nobody is connected yet, and the version moves on so that the next save says so.
        var restored = SessionRoom.Restore(_appointment, back, Later).Capture();
        Assert.Equal(state with { Version = state.Version + 1, Participants = [.. state.Participants.Select(p => p with { Connected = false })] }, restored);
        Assert.DoesNotContain("\"p1\"", json, StringComparison.Ordinal); // connections stay on their node
    }

    [Fact]
    public void A_broken_or_foreign_state_is_refused()
    {
        Assert.ThrowsAny<JsonException>(() => SessionRoomStateJson.Deserialize("null"));
        Assert.ThrowsAny<JsonException>(() => SessionRoomStateJson.Deserialize("""{"appointmentId":"6f1c3c57-9b1e-4c1a-9d7e-2f0e8f1a2b3c","version":1}"""));
        Assert.ThrowsAny<JsonException>(() => SessionRoomStateJson.Deserialize("{"));
        var other = new SessionRoom(_appointment with { Id = Guid.NewGuid() }).Capture();
        Assert.Throws<ArgumentException>(() => SessionRoom.Restore(_appointment, other, Later));
    }

    [Fact]
    public void The_version_grows_with_changes_worth_keeping_and_not_with_reads()
    {
        var room = NewRoom();
        Assert.Equal(0, room.Version);
        var patient = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now);
        var joined = room.Version;
        Assert.True(joined > 0);

        room.Snapshot();
        room.Participants();
        room.Find(patient.Participant.Id);
        room.FindByConnection("p1");
        room.WaitingIds();
        room.ScreenStateOf(patient.Participant);
        _ = room.IsTherapistPresent;
        _ = room.WaitingCount;
        var captured = room.Capture();
        Assert.Equal(joined, room.Version);
        Assert.Equal(joined, captured.Version);
        Assert.Null(room.Admit("nobody"));
        Assert.Equal(joined, room.Version);

        room.Admit(patient.Participant.Id);
        Assert.Equal(joined + 1, room.Version);
        Assert.Null(room.Admit(patient.Participant.Id)); // already admitted: nothing changed
        Assert.Equal(joined + 1, room.Version);

        room.SendBack(patient.Participant.Id, Now);
        Assert.Equal(joined + 2, room.Version);

        // A drop is kept too (a room that moves must not count someone as connected who was gone already).
        Assert.NotNull(room.Disconnect("p1", Now));
        Assert.Equal(joined + 3, room.Version);
        Assert.False(Assert.Single(room.Capture().Participants).Connected);

        // A restored room goes on from the captured version, so its writes are never older than what is stored.
        var restored = SessionRoom.Restore(_appointment, room.Capture(), Later);
        Assert.Equal(room.Version, restored.Version);
        restored.End();
        Assert.True(restored.Version > room.Version);
        Assert.True(restored.Capture().IsEnded);
        Assert.True(SessionRoom.Restore(_appointment, restored.Capture(), Later).IsEnded);
    }

    /// <summary>A participant as a room shows them, but for the connections (which stay on their node).</summary>
    private static (string, string, string, Guid?, Guid?, string, DateTimeOffset, ConnectionCheckSummary?, bool) Seat(ParticipantView p) =>
        (p.Id, p.Name, p.Role, p.StaffId, p.ContactId, p.State, p.WaitingSince, p.ConnectionCheck, p.SecondDevice);

    [Fact]
    public void A_room_nobody_is_connected_to_comes_back_exactly_as_it_was_captured()
    {
        var script = new RoomScript();
        script.JoinTherapist("t1");
        var patient = script.AdmittedPatient("c1");
        script.JoinCaregiver("g1", at: Now.AddMinutes(1));
        script.JoinPatient("c2", at: Now.AddMinutes(2)); // a second device
        foreach (var connection in new[] { "t1", "c1", "g1", "c2" })
        {
            script.Room.Disconnect(connection, Now.AddMinutes(3));
        }

        var state = script.Room.Capture();
        var restored = SessionRoom.Restore(script.Appointment, state, Later);

        Assert.Equal(state, restored.Capture()); // the version too: nothing was connected, so nothing is lost
        Assert.Same(script.Appointment, restored.Appointment);
        Assert.Equal(script.Room.Participants().Select(Seat), restored.Participants().Select(Seat));
        Assert.Equal(script.Room.Snapshot().Waiting, restored.Snapshot().Waiting);
        Assert.Equal(script.Room.Snapshot().InSession, restored.Snapshot().InSession);
        Assert.Equal(patient.Participant.Id, JoinContact(restored, RoomScript.Patient, "Sam Taylor", "p9", patient.DeviceKey, Later).Participant.Id);
    }

    /// <summary>
    /// What Restore does with its <c>now</c>: every waiting, sent-back or admitted participant counts as dropped at that
    /// moment, whether they were connected when captured or had dropped before (the capture keeps no drop times), so a
    /// waiting one keeps the place for a whole grace from the restore. Denied and left are not dropped.
    /// </summary>
    [Fact]
    public void Restored_everyone_present_has_dropped_at_the_restore_and_the_grace_runs_from_there()
    {
        var script = new RoomScript();
        var room = script.Room;
        var connected = script.JoinPatient("c1").Participant.Id;
        var droppedBefore = script.JoinCaregiver("g1").Participant.Id;
        room.Disconnect("g1", Now); // its grace on this node would end at Now + grace
        var admitted = room.JoinContact(Guid.NewGuid(), "Ann", ParticipantRoles.Patient, "a1", null, Now).Participant.Id;
        room.Admit(admitted);
        var denied = room.JoinContact(Guid.NewGuid(), "Eve", ParticipantRoles.Patient, "e1", null, Now).Participant.Id;
        room.Deny(denied);
        var left = room.JoinContact(Guid.NewGuid(), "Lee", ParticipantRoles.Patient, "l1", null, Now).Participant.Id;
        room.LeaveConnection("l1");
        var state = room.Capture();
        Assert.Equal([true, false, true, true, false], state.Participants.Select(p => p.Connected));
        var at = Now.AddSeconds(45);

        var restored = SessionRoom.Restore(script.Appointment, state, at);

        Assert.Equal(state.Version + 1, restored.Version);
        Assert.Equal(0, restored.ConnectedCount);
        Assert.Empty(restored.WaitingIds()); // nobody of the queue is connected here yet
        Assert.All(new[] { "c1", "a1", "e1" }, c => Assert.Null(restored.FindByConnection(c)));
        Assert.Null(restored.Disconnect("c1", at)); // the old node's connections end there, not here
        Assert.Empty(restored.ExpireDropped(Now + SessionCoordinator.WaitingGrace, SessionCoordinator.WaitingGrace));
        Assert.Empty(restored.ExpireDropped(at + SessionCoordinator.WaitingGrace - TimeSpan.FromTicks(1), SessionCoordinator.WaitingGrace));

        var expired = restored.ExpireDropped(at + SessionCoordinator.WaitingGrace, SessionCoordinator.WaitingGrace);

        Assert.Equal([connected, droppedBefore], expired.Select(p => p.Id));
        Assert.Equal(state.Version + 2, restored.Version);
        Assert.Equal(
            [ParticipantStates.Left, ParticipantStates.Left, ParticipantStates.Admitted, ParticipantStates.Denied, ParticipantStates.Left],
            new[] { connected, droppedBefore, admitted, denied, left }.Select(id => restored.Find(id)!.State));
        Assert.Empty(restored.ExpireDropped(at.AddHours(2), SessionCoordinator.WaitingGrace)); // admitted keeps the seat
    }

    [Fact]
    public void A_restored_room_lists_and_breaks_ties_in_the_order_of_the_room_it_came_from()
    {
        var room = NewRoom();
        var ann = JoinContact(room, Guid.NewGuid(), "Ann", "a1", null, Now).Participant.Id;
        var bob = JoinContact(room, Guid.NewGuid(), "Bob", "b1", null, Now).Participant.Id;
        var cem = JoinContact(room, Guid.NewGuid(), "Cem", "c1", null, Now.AddSeconds(1)).Participant.Id;
        room.Remove(bob);
        var dee = JoinContact(room, Guid.NewGuid(), "Dee", "d1", null, Now.AddSeconds(1)).Participant.Id; // takes Bob's slot
        var order = room.Snapshot().Waiting.Select(w => w.ParticipantId).ToList();
        Assert.Equal(order.Order(), new[] { ann, cem, dee }.Order());

        var restored = Moved(room);

        Assert.Equal(order, restored.Snapshot().Waiting.Select(w => w.ParticipantId));
        Assert.Equal(room.Participants().Select(p => p.Id), restored.Participants().Select(p => p.Id));
        Assert.Equal(room.Capture().Participants.Select(p => p.Id), restored.Capture().Participants.Select(p => p.Id));
    }

    [Fact]
    public void Restored_a_waiting_participant_waits_for_the_therapist_until_one_is_back()
    {
        var room = NewRoom();
        room.JoinTherapist(Therapist, "Dr. Ada Weber", "t1", Now);
        var patient = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, room.ScreenStateOf(patient.Participant));

        var restored = Moved(room);
        var back = JoinContact(restored, Patient, "Sam Taylor", "p2", patient.DeviceKey, Later);

        Assert.Equal((false, ParticipantStates.WaitingToBeAdmitted, Now), (back.Knocked, back.Participant.State, back.Participant.WaitingSince));
        Assert.Equal(ParticipantStates.WaitingForTherapist, restored.ScreenStateOf(back.Participant));
        restored.JoinTherapist(Therapist, "Dr. Ada Weber", "t2", Later);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, restored.ScreenStateOf(back.Participant));
        Assert.Equal([back.Participant.Id], restored.WaitingIds());
    }

    [Fact]
    public void An_ended_room_comes_back_ended_and_lets_nobody_in()
    {
        var room = NewRoom();
        var patient = JoinContact(room, Patient, "Sam Taylor", "p1", null, Now);
        room.Admit(patient.Participant.Id);
        room.End();

        var restored = Moved(room);
        var version = restored.Version;

        Assert.True(restored.IsEnded);
        Assert.Equal(ParticipantStates.SessionEnded, JoinContact(restored, Patient, "Sam Taylor", "p2", patient.DeviceKey, Later).Participant.State);
        Assert.Equal(ParticipantStates.SessionEnded, restored.JoinTherapist(Therapist, "Dr. Ada Weber", "t1", Later).Participant.State);
        Assert.Null(restored.SendBack(patient.Participant.Id, Later));
        Assert.Equal(version, restored.Version);
        Assert.Equal(0, restored.ConnectedCount);
        Assert.Empty(restored.ExpireDropped(Later.AddHours(1), SessionCoordinator.WaitingGrace));
    }
}
