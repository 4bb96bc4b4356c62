using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// The room as a state machine, the therapist's controls and what people see: Admit, Deny and Send to waiting room,
/// the queue's order, the snapshot, connection checks and each participant's own screen (README: The join rules).
/// </summary>
public sealed class SessionRoomWaitingTests : RoomScriptTests
{
    // ---- Admit, Deny, Send to waiting room -------------------------------------------------------

    [Theory]
    [InlineData(ParticipantStates.WaitingToBeAdmitted, true)]
    [InlineData(ParticipantStates.SentBack, true)]
    [InlineData(ParticipantStates.WaitingToBeAdmitted, false)]
    [InlineData(ParticipantStates.SentBack, false)]
    public void Admit_lets_a_waiting_participant_in_and_Deny_refuses_them(string from, bool admit)
    {
        var id = Script.PatientIn(from);
        var version = Room.Version;

        var after = admit ? Room.Admit(id) : Room.Deny(id);

        Assert.NotNull(after);
        Assert.Equal((id, admit ? ParticipantStates.Admitted : ParticipantStates.Denied), (after.Id, after.State));
        Assert.Equal(["c1"], after.Connections); // denied too: the hub tells them on this connection; the relay drops their media
        Assert.Equal(version + 1, Room.Version);
        Assert.Empty(Room.WaitingIds());
        Assert.Empty(Room.Snapshot().Waiting);
        Assert.Equal((0, 1), (Room.WaitingCount, Room.ConnectedCount));
        IReadOnlyList<PeerInfo> inSession = admit ? [new PeerInfo(id, RoomScript.PatientName, ParticipantRoles.Patient, true)] : [];
        Assert.Equal(inSession, Room.Snapshot().InSession);
    }

    [Fact]
    public void Send_to_waiting_room_queues_again_from_that_moment()
    {
        var id = Script.PatientIn(ParticipantStates.Admitted);
        var version = Room.Version;

        var sent = Room.SendBack(id, RoomScript.Now.AddMinutes(12));

        Assert.NotNull(sent);
        Assert.Equal((ParticipantStates.SentBack, RoomScript.Now.AddMinutes(12)), (sent.State, sent.WaitingSince));
        Assert.Equal(["c1"], sent.Connections);
        Assert.Equal(version + 1, Room.Version);
        Assert.Equal([id], Room.WaitingIds());
        Assert.Equal(1, Room.WaitingCount);
        Assert.Empty(Room.Snapshot().InSession);
    }

    [Fact]
    public void A_sent_back_participant_who_leaves_knocks_again_on_the_same_device()
    {
        var first = Script.AdmittedPatient("c1");
        Room.SendBack(first.Participant.Id, RoomScript.Now.AddMinutes(1));
        Room.LeaveConnection("c1");

        var back = Script.JoinPatient("c2", first.DeviceKey, RoomScript.Now.AddMinutes(2));

        Assert.Equal((true, false), (back.Knocked, back.Rejoined));
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, back.Participant.State);
        Assert.Equal(RoomScript.Now.AddMinutes(2), back.Participant.WaitingSince);
    }

    [Fact]
    public void An_admitted_participant_who_dropped_can_be_sent_back_and_returns_to_the_queue()
    {
        var first = Script.AdmittedPatient("c1");
        Room.Disconnect("c1", RoomScript.Now.AddMinutes(1));

        Assert.NotNull(Room.SendBack(first.Participant.Id, RoomScript.Now.AddMinutes(2)));
        var back = Script.JoinPatient("c2", first.DeviceKey, RoomScript.Now.AddMinutes(3));

        Assert.Equal((false, false), (back.Knocked, back.Rejoined));
        Assert.Equal((ParticipantStates.SentBack, RoomScript.Now.AddMinutes(2)), (back.Participant.State, back.Participant.WaitingSince));
    }

    [Theory]
    [InlineData("nobody")]
    [InlineData("")]
    [InlineData("contact-33333333333333333333333333333333-1")] // a second device that never came
    [InlineData("CONTACT-33333333333333333333333333333333")] // ids are compared exactly
    public void Controls_on_an_unknown_id_change_nothing(string id)
    {
        Script.PatientIn(ParticipantStates.WaitingToBeAdmitted);
        var version = Room.Version;

        Assert.Null(Room.Admit(id));
        Assert.Null(Room.Deny(id));
        Assert.Null(Room.SendBack(id, RoomScript.Now));
        Assert.Null(Room.Remove(id));

        Assert.Equal(version, Room.Version);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, Script.StateOf(RoomScript.PatientSeat));
    }

    [Theory]
    [InlineData(ParticipantStates.WaitingToBeAdmitted, ParticipantStates.Admitted, ParticipantStates.Denied, null)]
    [InlineData(ParticipantStates.SentBack, ParticipantStates.Admitted, ParticipantStates.Denied, null)]
    [InlineData(ParticipantStates.Admitted, null, null, ParticipantStates.SentBack)]
    [InlineData(ParticipantStates.Denied, null, null, null)]
    [InlineData(ParticipantStates.Left, null, null, null)]
    [InlineData(ParticipantStates.SessionEnded, null, null, null)]
    public void Each_control_applies_in_its_states_only(string state, string? afterAdmit, string? afterDeny, string? afterSendBack)
    {
        Assert.Equal(afterAdmit, Control(state, (room, id) => room.Admit(id)));
        Assert.Equal(afterDeny, Control(state, (room, id) => room.Deny(id)));
        Assert.Equal(afterSendBack, Control(state, (room, id) => room.SendBack(id, RoomScript.Now)));
    }

    /// <summary>The state a control leads to from <paramref name="state"/>; null when it refuses (and then nothing changed).</summary>
    private static string? Control(string state, Func<SessionRoom, string, ParticipantView?> control)
    {
        var script = new RoomScript();
        var id = script.PatientIn(state);
        var version = script.Room.Version;

        var result = control(script.Room, id);

        Assert.Equal(result is null ? version : version + 1, script.Room.Version);
        Assert.Equal(result?.State ?? state, script.StateOf(id));
        return result?.State;
    }

    [Fact]
    public void The_controls_never_apply_to_a_therapist()
    {
        Script.JoinTherapist("t1");
        var version = Room.Version;

        Assert.Null(Room.Admit(RoomScript.TherapistSeat));
        Assert.Null(Room.Deny(RoomScript.TherapistSeat));
        Assert.Null(Room.SendBack(RoomScript.TherapistSeat, RoomScript.Now));

        Assert.Equal(version, Room.Version);
        Assert.Equal(ParticipantStates.Admitted, Script.StateOf(RoomScript.TherapistSeat));
    }

    // ---- the queue and the snapshot ---------------------------------------------------------------

    [Fact]
    public void The_queue_is_longest_waiting_first_with_those_connected_only()
    {
        var (ann, bob, cem, dee) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        string Join(Guid contact, string name, string connection, int second) =>
            Room.JoinContact(contact, name, ParticipantRoles.Patient, connection, null, RoomScript.Now.AddSeconds(second)).Participant.Id;

        // Arrival order is not queue order: the queue is by waiting-since, and a sent-back participant queues anew.
        var annId = Join(ann, "Ann", "a1", 30);
        var bobId = Join(bob, "Bob", "b1", 10);
        var cemId = Join(cem, "Cem", "c1", 20);
        var deeId = Join(dee, "Dee", "d1", 20); // the same second as Cem: arrival breaks the tie
        Room.Admit(bobId);
        Room.SendBack(bobId, RoomScript.Now.AddSeconds(40));

        Assert.Equal([cemId, deeId, annId, bobId], Room.WaitingIds());

        // Someone who dropped keeps their place in the snapshot (shown not connected) but is not in the queue that
        // Admit all goes through.
        Room.Disconnect("c1", RoomScript.Now.AddSeconds(50));
        Assert.Equal([deeId, annId, bobId], Room.WaitingIds());
        Assert.Equal([cemId, deeId, annId, bobId], Room.Snapshot().Waiting.Select(w => w.ParticipantId));
        Assert.Equal([false, true, true, true], Room.Snapshot().Waiting.Select(w => w.Connected));
        Assert.Equal(4, Room.WaitingCount);
    }

    [Fact]
    public void The_snapshot_lists_the_queue_and_the_session_and_nobody_else()
    {
        var check = new ConnectionCheckSummary("fair", true, true, 180, 2.5, 900);
        Script.JoinTherapist("t1");
        var patient = Script.AdmittedPatient("c1", RoomScript.Now.AddMinutes(1));
        var caregiver = Script.JoinCaregiver("g1", at: RoomScript.Now.AddMinutes(2));
        Room.SetConnectionCheck(caregiver.Participant.Id, check);
        var second = Script.JoinPatient("c2", at: RoomScript.Now.AddMinutes(3));
        Room.Disconnect("c2", RoomScript.Now.AddMinutes(4));
        var denied = Room.JoinContact(Guid.NewGuid(), "Eve", ParticipantRoles.Caregiver, "e1", null, RoomScript.Now);
        Room.Deny(denied.Participant.Id);
        var left = Room.JoinContact(Guid.NewGuid(), "Lee", ParticipantRoles.Caregiver, "l1", null, RoomScript.Now);
        Room.LeaveConnection("l1");
        Room.Disconnect("t1", RoomScript.Now.AddMinutes(5)); // a therapist who dropped is still in the session

        var snapshot = Room.Snapshot();

        Assert.Equal(Script.Appointment.Id, snapshot.AppointmentId);
        Assert.Equal(
            [
                new WaitingParticipant(caregiver.Participant.Id, RoomScript.CaregiverName, ParticipantRoles.Caregiver, RoomScript.Now.AddMinutes(2), true, check),
                new WaitingParticipant(second.Participant.Id, "Sam Taylor (second device)", ParticipantRoles.Patient, RoomScript.Now.AddMinutes(3), false, null, SecondDevice: true),
            ],
            snapshot.Waiting);
        Assert.Equal(
            [
                // A listed therapist may always share a screen.
                new PeerInfo(RoomScript.TherapistSeat, RoomScript.TherapistName, ParticipantRoles.Therapist, false, MayShareScreen: true),
                new PeerInfo(patient.Participant.Id, RoomScript.PatientName, ParticipantRoles.Patient, true),
            ],
            snapshot.InSession);
        Assert.Equal(left.Participant.Id, Assert.Single(Room.Participants(), p => p.State == ParticipantStates.Left).Id);
        Assert.Equal((2, 3), (Room.WaitingCount, Room.ConnectedCount)); // patient, caregiver, and Eve's open tab
    }

    [Fact]
    public void A_connection_check_is_shown_with_the_participant_and_a_later_one_replaces_it()
    {
        var id = Script.PatientIn(ParticipantStates.WaitingToBeAdmitted);
        var version = Room.Version;
        var poor = new ConnectionCheckSummary("poor", false, true, 900, 12, 150);
        var good = new ConnectionCheckSummary("good", true, true, 40, 0, 2500);

        Room.SetConnectionCheck(id, poor);
        Assert.Equal(poor, Assert.Single(Room.Snapshot().Waiting).ConnectionCheck);
        Room.SetConnectionCheck(id, good);
        Room.SetConnectionCheck("nobody", poor);

        Assert.Equal(good, Room.Find(id)!.ConnectionCheck);
        Assert.Equal(good, Assert.Single(Room.Snapshot().Waiting).ConnectionCheck);
        Assert.Equal(version + 2, Room.Version);
    }

    // ---- each participant's own screen ----------------------------------------------------------------

    [Theory]
    [InlineData(ParticipantStates.WaitingToBeAdmitted, false, ParticipantStates.WaitingForTherapist)]
    [InlineData(ParticipantStates.WaitingToBeAdmitted, true, ParticipantStates.WaitingToBeAdmitted)]
    [InlineData(ParticipantStates.SentBack, false, ParticipantStates.WaitingForTherapist)]
    [InlineData(ParticipantStates.SentBack, true, ParticipantStates.WaitingToBeAdmitted)]
    [InlineData(ParticipantStates.Admitted, false, ParticipantStates.Admitted)]
    [InlineData(ParticipantStates.Admitted, true, ParticipantStates.Admitted)]
    [InlineData(ParticipantStates.Denied, true, ParticipantStates.Denied)]
    [InlineData(ParticipantStates.Left, true, ParticipantStates.Left)]
    [InlineData(ParticipantStates.SessionEnded, true, ParticipantStates.SessionEnded)]
    public void The_screen_says_what_is_happening(string state, bool therapistHere, string screen)
    {
        if (therapistHere)
        {
            Script.JoinTherapist("t1");
        }

        var id = Script.PatientIn(state);

        Assert.Equal(screen, Room.ScreenStateOf(Room.Find(id)!));
    }

    [Fact]
    public void Waiting_is_for_the_therapist_again_when_the_last_therapist_connection_goes()
    {
        Script.JoinTherapist("t1");
        Script.JoinTherapist("t2");
        var waiting = Room.Find(Script.PatientIn(ParticipantStates.WaitingToBeAdmitted))!;

        Room.Disconnect("t1", RoomScript.Now);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, Room.ScreenStateOf(waiting));
        Room.Disconnect("t2", RoomScript.Now);

        Assert.Equal(ParticipantStates.WaitingForTherapist, Room.ScreenStateOf(waiting));
        Assert.Equal(ParticipantStates.Admitted, Room.ScreenStateOf(Room.Find(RoomScript.TherapistSeat)!));
    }
}
