using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// The room as a state machine, coming and going: drops, Leave per connection, the grace of a waiting participant who
/// dropped, removal, and a reschedule.
/// </summary>
public sealed class SessionRoomPresenceTests : RoomScriptTests
{
    // ---- drops ---------------------------------------------------------------------------------

    [Fact]
    public void A_drop_is_reported_when_the_last_connection_goes_only()
    {
        var first = Script.AdmittedPatient("c1");
        Script.JoinPatient("c2", first.DeviceKey);
        var version = Room.Version;

        Assert.Null(Room.Disconnect("c1", RoomScript.Now));
        Assert.Equal(version, Room.Version);
        Assert.Equal(["c2"], Room.Find(first.Participant.Id)!.Connections);
        Assert.Null(Room.FindByConnection("c1"));

        var dropped = Room.Disconnect("c2", RoomScript.Now);

        Assert.NotNull(dropped);
        Assert.Equal((first.Participant.Id, ParticipantStates.Admitted), (dropped.Id, dropped.State)); // the seat is kept
        Assert.Empty(dropped.Connections);
        Assert.Equal(version + 1, Room.Version);
        Assert.Equal(0, Room.ConnectedCount);
        Assert.False(Assert.Single(Room.Snapshot().InSession).Connected);
    }

    [Theory]
    [InlineData("never-here")]
    [InlineData("c1")] // the second time
    public void A_connection_the_room_does_not_hold_drops_nothing(string connection)
    {
        Script.JoinPatient("c1");
        Room.Disconnect("c1", RoomScript.Now);
        var version = Room.Version;

        Assert.Null(Room.Disconnect(connection, RoomScript.Now.AddSeconds(1)));
        Assert.Null(Room.LeaveConnection(connection));

        Assert.Equal(version, Room.Version);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, Script.StateOf(RoomScript.PatientSeat));
    }

    [Fact]
    public void The_last_therapist_connection_going_leaves_the_session_without_a_therapist()
    {
        Script.JoinTherapist("t1");
        Room.JoinTherapist(RoomScript.OtherTherapist, "Dr. Bo Lind", "o1", RoomScript.Now);

        Assert.Null(Room.Disconnect("t0", RoomScript.Now));
        Assert.NotNull(Room.Disconnect("t1", RoomScript.Now));
        Assert.True(Room.IsTherapistPresent);
        Assert.NotNull(Room.Disconnect("o1", RoomScript.Now));

        Assert.False(Room.IsTherapistPresent);
        Assert.All(Room.Snapshot().InSession, p => Assert.False(p.Connected));
    }

    // ---- Leave ---------------------------------------------------------------------------------

    [Fact]
    public void Leave_lets_go_of_the_calling_connection_only()
    {
        var first = Script.AdmittedPatient("c1");
        Script.JoinPatient("c2", first.DeviceKey); // a reload whose old connection is still open
        var version = Room.Version;

        var (afterFirst, leftFirst) = Room.LeaveConnection("c1")!.Value;
        Assert.False(leftFirst);
        Assert.Equal(ParticipantStates.Admitted, afterFirst.State);
        Assert.Equal(["c2"], afterFirst.Connections);
        Assert.Equal(version, Room.Version);

        var (afterSecond, leftSecond) = Room.LeaveConnection("c2")!.Value;
        Assert.True(leftSecond);
        Assert.Equal(ParticipantStates.Left, afterSecond.State);
        Assert.Empty(afterSecond.Connections);
        Assert.Equal(version + 1, Room.Version);
        Assert.Null(Room.LeaveConnection("c2"));
        Assert.Null(Room.Disconnect("c2", RoomScript.Now)); // the hub's disconnect that follows finds nothing to drop
        Assert.Empty(Room.Snapshot().InSession);
    }

    [Fact]
    public void A_knock_that_leaves_is_out_of_the_queue_and_never_expires()
    {
        var id = Script.PatientIn(ParticipantStates.WaitingToBeAdmitted);
        var version = Room.Version;

        var (left, last) = Room.LeaveConnection("c1")!.Value;

        Assert.True(last);
        Assert.Equal((id, ParticipantStates.Left), (left.Id, left.State));
        Assert.Equal(version + 1, Room.Version);
        Assert.Empty(Room.WaitingIds());
        Assert.Empty(Room.Snapshot().Waiting);
        Assert.Empty(Room.ExpireDropped(RoomScript.Now.AddHours(1), Grace));
    }

    [Fact]
    public void A_denied_participant_who_leaves_stays_denied()
    {
        var id = Script.PatientIn(ParticipantStates.Denied);

        var (left, last) = Room.LeaveConnection("c1")!.Value;

        Assert.True(last);
        Assert.Equal(ParticipantStates.Denied, left.State);
        Assert.Equal(ParticipantStates.Denied, Script.StateOf(id));
    }

    // ---- the grace of a waiting participant who dropped ---------------------------------------------

    /// <summary>
    /// The boundary, written down: a waiting participant who dropped at T is still in the queue at T + grace − 1 tick
    /// and leaves it at T + grace exactly (and of course any time after).
    /// </summary>
    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public void A_waiting_participant_who_dropped_leaves_the_queue_at_the_end_of_the_grace(long ticksFromGrace, bool expires)
    {
        var dropAt = RoomScript.Now.AddSeconds(17);
        var id = Script.PatientIn(ParticipantStates.WaitingToBeAdmitted);
        Room.Disconnect("c1", dropAt);
        var version = Room.Version;

        var expired = Room.ExpireDropped(dropAt + Grace + TimeSpan.FromTicks(ticksFromGrace), Grace);

        if (expires)
        {
            var gone = Assert.Single(expired);
            Assert.Equal((id, ParticipantStates.Left), (gone.Id, gone.State));
            Assert.Equal(ParticipantStates.Left, Script.StateOf(id));
            Assert.Empty(Room.Snapshot().Waiting);
            Assert.Equal(version + 1, Room.Version);
        }
        else
        {
            Assert.Empty(expired);
            Assert.Equal(ParticipantStates.WaitingToBeAdmitted, Script.StateOf(id));
            Assert.Equal(version, Room.Version);
        }
    }

    [Fact]
    public void Each_waiting_participant_has_a_grace_of_their_own_and_is_let_go_of_once()
    {
        var patient = Script.PatientIn(ParticipantStates.SentBack);
        var caregiver = Script.JoinCaregiver("g1").Participant.Id;
        Room.Disconnect("c1", RoomScript.Now);
        Room.Disconnect("g1", RoomScript.Now.AddSeconds(30));
        var version = Room.Version;

        Assert.Equal([patient], Room.ExpireDropped(RoomScript.Now + Grace, Grace).Select(p => p.Id));
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, Script.StateOf(caregiver));
        Assert.Empty(Room.ExpireDropped(RoomScript.Now + Grace, Grace));
        Assert.Equal([caregiver], Room.ExpireDropped(RoomScript.Now.AddSeconds(30) + Grace, Grace).Select(p => p.Id));
        Assert.Equal(version + 2, Room.Version);
    }

    [Fact]
    public void The_grace_is_only_for_the_waiting_who_dropped()
    {
        var admitted = Script.AdmittedPatient("c1").Participant.Id;
        Room.Disconnect("c1", RoomScript.Now); // admitted and dropped: keeps the seat until the session ends
        Script.JoinTherapist("t1");
        Room.Disconnect("t1", RoomScript.Now);
        var waiting = Script.JoinCaregiver("g1").Participant.Id; // waiting and still connected
        var denied = Room.JoinContact(Guid.NewGuid(), "Eve", ParticipantRoles.Patient, "e1", null, RoomScript.Now).Participant.Id;
        Room.Deny(denied);
        Room.Disconnect("e1", RoomScript.Now);
        var version = Room.Version;

        Assert.Empty(Room.ExpireDropped(RoomScript.Now.AddHours(3), Grace));

        Assert.Equal(version, Room.Version);
        Assert.Equal(
            [ParticipantStates.Admitted, ParticipantStates.Admitted, ParticipantStates.WaitingToBeAdmitted, ParticipantStates.Denied],
            new[] { admitted, RoomScript.TherapistSeat, waiting, denied }.Select(Script.StateOf));
    }

    [Fact]
    public void A_dropped_tab_that_is_not_the_last_starts_no_grace()
    {
        var first = Script.JoinPatient("c1");
        Script.JoinPatient("c2", first.DeviceKey);

        Room.Disconnect("c1", RoomScript.Now);

        Assert.Empty(Room.ExpireDropped(RoomScript.Now.AddHours(1), Grace));
    }

    [Fact]
    public void Coming_back_after_the_grace_on_the_same_device_is_a_new_knock_at_the_back_of_the_queue()
    {
        var first = Script.JoinPatient("c1");
        var other = Script.JoinCaregiver("g1", at: RoomScript.Now.AddSeconds(5)).Participant.Id;
        Room.Disconnect("c1", RoomScript.Now);
        Room.ExpireDropped(RoomScript.Now + Grace, Grace);

        var late = Script.JoinPatient("c2", first.DeviceKey, RoomScript.Now.AddMinutes(3));

        Assert.Equal((true, false, first.Participant.Id), (late.Knocked, late.Rejoined, late.Participant.Id));
        Assert.Equal(RoomScript.Now.AddMinutes(3), late.Participant.WaitingSince);
        Assert.Equal([other, first.Participant.Id], Room.WaitingIds());
    }

    // ---- Remove ---------------------------------------------------------------------------------

    [Fact]
    public void Remove_forgets_the_participant_and_every_connection_of_theirs()
    {
        var first = Script.AdmittedPatient("c1");
        Script.JoinPatient("c2", first.DeviceKey);
        var second = Script.JoinPatient("c3").Participant.Id;
        var version = Room.Version;

        var removed = Room.Remove(first.Participant.Id);

        Assert.NotNull(removed);
        Assert.Equal((ParticipantStates.Admitted, 2), (removed.State, removed.Connections.Count)); // as they were: the hub tells those tabs
        Assert.Equal(version + 1, Room.Version);
        Assert.Null(Room.Find(first.Participant.Id));
        Assert.Null(Room.FindByConnection("c1"));
        Assert.Null(Room.Disconnect("c2", RoomScript.Now));
        Assert.Null(Room.LeaveConnection("c1"));
        Assert.Null(Room.Remove(first.Participant.Id));
        Assert.Equal(version + 1, Room.Version);
        // Their other device is a participant of its own and stays.
        Assert.Equal([second], Room.Participants().Select(p => p.Id));
        Assert.Equal(second, Room.FindByConnection("c3")!.Id);
    }

    [Fact]
    public void After_a_removal_the_contact_arrives_afresh_and_the_old_key_opens_nothing()
    {
        var first = Script.AdmittedPatient("c1");
        Room.Remove(first.Participant.Id);

        var again = Script.JoinPatient("c2", first.DeviceKey, RoomScript.Now.AddMinutes(1));

        Assert.Equal((true, true, false), (again.Knocked, again.FirstArrival, again.Participant.SecondDevice));
        Assert.Equal((RoomScript.PatientSeat, ParticipantStates.WaitingToBeAdmitted), (again.Participant.Id, again.Participant.State));
        Assert.NotEqual(first.DeviceKey, again.DeviceKey);
    }

    [Fact]
    public void A_removed_therapist_is_no_longer_present()
    {
        Script.JoinTherapist("t1");

        Assert.Equal(["t1"], Room.Remove(RoomScript.TherapistSeat)!.Connections);

        Assert.False(Room.IsTherapistPresent);
        Assert.Equal(0, Room.ConnectedCount);
        Assert.True(Script.JoinTherapist("t2").FirstArrival);
    }

    // ---- a reschedule -------------------------------------------------------------------------------

    [Fact]
    public void A_reschedule_replaces_the_appointment_and_nothing_else()
    {
        Script.JoinTherapist("t1");
        var patient = Script.PatientIn(ParticipantStates.WaitingToBeAdmitted, "c9");
        var before = Room.Capture();
        var moved = Script.Appointment with
        {
            Start = RoomScript.Now.AddMinutes(5), End = RoomScript.Now.AddMinutes(55), OpensAt = RoomScript.Now.AddMinutes(-5),
            ClosesAt = RoomScript.Now.AddMinutes(115), TherapistIds = [RoomScript.Therapist],
        };

        Room.Reschedule(moved);

        Assert.Same(moved, Room.Appointment);
        Assert.Equal(Script.Appointment.Id, Room.AppointmentId);
        Assert.Equal(before, Room.Capture()); // the version too: a store has nothing new to keep
        Assert.Equal([patient], Room.WaitingIds());
        Assert.True(Room.IsTherapistPresent);
    }

    [Fact]
    public void A_reschedule_to_another_appointment_is_refused()
    {
        var other = Script.Appointment with { Id = Guid.NewGuid() };

        Assert.Throws<ArgumentException>(() => Room.Reschedule(other));

        Assert.Same(Script.Appointment, Room.Appointment);
    }
}
