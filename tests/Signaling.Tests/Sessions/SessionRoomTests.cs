using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// The room as a state machine, joining: therapists are always in the session; a contact's seat belongs to a device, a
/// link alone never gets back in, and a second device knocks on its own (README: The join rules).
/// </summary>
public sealed class SessionRoomTests : RoomScriptTests
{
    // ---- therapists ----------------------------------------------------------------------------

    [Fact]
    public void Seat_ids_are_the_role_and_the_id_in_32_hex_digits()
    {
        Assert.Equal("staff-11111111111111111111111111111111", SessionRoom.TherapistId(RoomScript.Therapist));
        Assert.Equal("contact-33333333333333333333333333333333", SessionRoom.ContactId(RoomScript.Patient));
    }

    [Fact]
    public void A_therapists_first_join_is_in_the_session_at_once_and_is_the_first_therapist()
    {
        var joined = Script.JoinTherapist("t1");

        Assert.Equal((false, false, true, true, (string?)null), (joined.Knocked, joined.Rejoined, joined.FirstArrival, joined.FirstTherapistArrived, joined.DeviceKey));
        var therapist = joined.Participant;
        Assert.Equal(RoomScript.TherapistSeat, therapist.Id);
        Assert.Equal((RoomScript.TherapistName, ParticipantRoles.Therapist, ParticipantStates.Admitted), (therapist.Name, therapist.Role, therapist.State));
        Assert.Equal((RoomScript.Therapist, (Guid?)null), (therapist.StaffId, therapist.ContactId));
        Assert.Equal(["t1"], therapist.Connections);
        Assert.True(therapist.IsTherapist);
        Assert.False(therapist.SecondDevice);
        Assert.True(Room.IsTherapistPresent);
        Assert.Equal((1, 0), (Room.ConnectedCount, Room.WaitingCount));
        Assert.Equal(therapist.Id, Room.FindByConnection("t1")?.Id);
    }

    [Fact]
    public void A_therapists_second_tab_is_neither_an_arrival_nor_a_return()
    {
        Script.JoinTherapist("t1");

        var tab = Script.JoinTherapist("t2");

        Assert.Equal((false, false, false, false), (tab.Knocked, tab.Rejoined, tab.FirstArrival, tab.FirstTherapistArrived));
        Assert.Equal(["t1", "t2"], tab.Participant.Connections.Order());
        Assert.Equal(1, Room.ConnectedCount);
    }

    [Fact]
    public void A_therapist_who_dropped_comes_back_as_a_return_and_is_the_first_therapist_again()
    {
        Script.JoinTherapist("t1");
        Room.Disconnect("t1", RoomScript.Now.AddMinutes(1));
        Assert.False(Room.IsTherapistPresent);

        var back = Script.JoinTherapist("t2", RoomScript.Now.AddMinutes(2));

        Assert.Equal((false, true, false, true), (back.Knocked, back.Rejoined, back.FirstArrival, back.FirstTherapistArrived));
        Assert.Equal(["t2"], back.Participant.Connections);
        Assert.Equal(ParticipantStates.Admitted, back.Participant.State);
    }

    [Fact]
    public void A_therapist_who_left_on_purpose_comes_back_into_the_session()
    {
        Script.JoinTherapist("t1");
        Assert.Equal(ParticipantStates.Left, Room.LeaveConnection("t1")!.Value.Participant.State);

        var back = Script.JoinTherapist("t2");

        Assert.Equal((true, false), (back.Rejoined, back.FirstArrival));
        Assert.Equal(ParticipantStates.Admitted, back.Participant.State);
    }

    [Fact]
    public void A_second_listed_therapist_arrives_but_is_not_the_first_therapist()
    {
        Script.JoinTherapist("t1");

        var other = Room.JoinTherapist(RoomScript.OtherTherapist, "Dr. Bo Lind", "o1", RoomScript.Now);

        Assert.Equal((true, false, false), (other.FirstArrival, other.Rejoined, other.FirstTherapistArrived));
        Assert.Equal(SessionRoom.TherapistId(RoomScript.OtherTherapist), other.Participant.Id);
        Assert.Equal(2, Room.Snapshot().InSession.Count);
    }

    // ---- contacts: the first join and the same device ---------------------------------------------

    [Fact]
    public void A_first_join_knocks_and_hands_out_a_device_key()
    {
        var first = Script.JoinPatient("c1", at: RoomScript.Now.AddMinutes(3));

        Assert.Equal((true, false, true, false), (first.Knocked, first.Rejoined, first.FirstArrival, first.FirstTherapistArrived));
        var seat = first.Participant;
        Assert.Equal(RoomScript.PatientSeat, seat.Id);
        Assert.Equal((RoomScript.PatientName, ParticipantRoles.Patient, ParticipantStates.WaitingToBeAdmitted), (seat.Name, seat.Role, seat.State));
        Assert.Equal(((Guid?)null, (Guid?)RoomScript.Patient), (seat.StaffId, seat.ContactId));
        Assert.Equal(RoomScript.Now.AddMinutes(3), seat.WaitingSince);
        Assert.Equal(["c1"], seat.Connections);
        Assert.False(seat.SecondDevice);
        Assert.Null(seat.ConnectionCheck);
        // 24 random bytes, base64url: 32 characters that are safe in a URL and in local storage.
        Assert.Matches("^[A-Za-z0-9_-]{32}$", first.DeviceKey);
        Assert.NotEqual(first.DeviceKey, new RoomScript().JoinPatient("c1").DeviceKey);
        Assert.Equal((1, 1), (Room.WaitingCount, Room.ConnectedCount));
    }

    [Fact]
    public void The_same_device_comes_back_admitted_without_a_knock()
    {
        var first = Script.AdmittedPatient("c1");
        Room.Disconnect("c1", RoomScript.Now);

        var back = Script.JoinPatient("c2", first.DeviceKey, RoomScript.Now.AddMinutes(4));

        Assert.Equal((false, true, false), (back.Knocked, back.Rejoined, back.FirstArrival));
        Assert.Equal(first.Participant.Id, back.Participant.Id);
        Assert.Equal(ParticipantStates.Admitted, back.Participant.State);
        Assert.Equal(first.DeviceKey, back.DeviceKey);
        Assert.Equal(["c2"], back.Participant.Connections);
    }

    [Fact]
    public void A_reload_while_waiting_keeps_the_place_without_a_second_knock()
    {
        var first = Script.JoinPatient("c1");
        Room.Disconnect("c1", RoomScript.Now.AddSeconds(5));

        var back = Script.JoinPatient("c2", first.DeviceKey, RoomScript.Now.AddSeconds(20));

        Assert.Equal((false, false, false), (back.Knocked, back.Rejoined, back.FirstArrival));
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, back.Participant.State);
        Assert.Equal(RoomScript.Now, back.Participant.WaitingSince);
        Assert.Equal([back.Participant.Id], Room.WaitingIds());
        // Back within the grace: the drop is forgotten, so the queue does not let go of them later.
        Assert.Empty(Room.ExpireDropped(RoomScript.Now.AddHours(1), Grace));
    }

    [Fact]
    public void A_second_tab_of_an_admitted_device_adds_a_connection_and_is_not_a_return()
    {
        var first = Script.AdmittedPatient("c1");

        var tab = Script.JoinPatient("c2", first.DeviceKey);

        Assert.Equal((false, false, false), (tab.Knocked, tab.Rejoined, tab.FirstArrival));
        Assert.Equal(["c1", "c2"], tab.Participant.Connections.Order());
        Assert.Equal(ParticipantStates.Admitted, tab.Participant.State);
    }

    [Theory]
    [InlineData(true, ParticipantStates.Admitted, false, true)] // admitted before: straight back in
    [InlineData(false, ParticipantStates.WaitingToBeAdmitted, true, false)] // never admitted: knocks again, at the back
    public void The_same_device_after_leaving_on_purpose(bool admittedBefore, string state, bool knocks, bool rejoined)
    {
        var first = admittedBefore ? Script.AdmittedPatient("c1") : Script.JoinPatient("c1");
        Room.LeaveConnection("c1");
        Assert.Equal(ParticipantStates.Left, Script.StateOf(first.Participant.Id));

        var back = Script.JoinPatient("c2", first.DeviceKey, RoomScript.Now.AddMinutes(9));

        Assert.Equal((knocks, rejoined, false), (back.Knocked, back.Rejoined, back.FirstArrival));
        Assert.Equal(state, back.Participant.State);
        Assert.Equal(first.Participant.Id, back.Participant.Id);
        Assert.Equal(admittedBefore ? RoomScript.Now : RoomScript.Now.AddMinutes(9), back.Participant.WaitingSince);
    }

    // ---- contacts: another device -----------------------------------------------------------------

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-the-key")]
    public void Another_device_with_the_link_knocks_as_a_second_device_while_the_first_is_here(string? key)
    {
        var first = Script.AdmittedPatient("c1");

        var second = Script.JoinPatient("c2", key, RoomScript.Now.AddMinutes(1));

        Assert.Equal((true, false, true), (second.Knocked, second.Rejoined, second.FirstArrival));
        Assert.Equal(RoomScript.PatientSeat + "-1", second.Participant.Id);
        Assert.True(second.Participant.SecondDevice);
        Assert.Equal("Sam Taylor (second device)", second.Participant.Name);
        Assert.Equal((ParticipantStates.WaitingToBeAdmitted, (Guid?)RoomScript.Patient), (second.Participant.State, second.Participant.ContactId));
        Assert.Equal(RoomScript.Now.AddMinutes(1), second.Participant.WaitingSince);
        Assert.NotEqual(first.DeviceKey, second.DeviceKey);
        // The first device is untouched: still admitted, still connected.
        var seat = Room.Find(first.Participant.Id)!;
        Assert.Equal(ParticipantStates.Admitted, seat.State);
        Assert.Equal(["c1"], seat.Connections);
        Assert.True(Assert.Single(Room.Snapshot().Waiting).SecondDevice);
    }

    [Fact]
    public void Each_further_device_gets_an_id_of_its_own_and_comes_back_with_its_own_key()
    {
        Script.AdmittedPatient("c1");
        var second = Script.JoinPatient("c2");
        var third = Script.JoinPatient("c3");
        Assert.Equal([RoomScript.PatientSeat + "-1", RoomScript.PatientSeat + "-2"], [second.Participant.Id, third.Participant.Id]);
        Assert.NotNull(Room.Admit(second.Participant.Id));
        Room.Disconnect("c2", RoomScript.Now);

        var back = Script.JoinPatient("c4", second.DeviceKey);

        Assert.Equal((second.Participant.Id, false, true), (back.Participant.Id, back.Knocked, back.Rejoined));
        Assert.Equal(ParticipantStates.Admitted, back.Participant.State);
        Assert.True(back.Participant.SecondDevice);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, Script.StateOf(third.Participant.Id));
    }

    [Fact]
    public void Another_device_takes_over_an_empty_admitted_seat_only_by_knocking()
    {
        var first = Script.AdmittedPatient("c1");
        Room.Disconnect("c1", RoomScript.Now);

        var other = Script.JoinPatient("c2", at: RoomScript.Now.AddMinutes(2));

        Assert.Equal((true, false, false), (other.Knocked, other.Rejoined, other.FirstArrival));
        Assert.Equal(first.Participant.Id, other.Participant.Id);
        Assert.False(other.Participant.SecondDevice);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, other.Participant.State);
        Assert.Equal(RoomScript.Now.AddMinutes(2), other.Participant.WaitingSince);
        Assert.NotEqual(first.DeviceKey, other.DeviceKey);
        // The old key no longer opens the seat: the first device, coming back, is now the second one.
        var old = Script.JoinPatient("c3", first.DeviceKey);
        Assert.True(old.Knocked);
        Assert.True(old.Participant.SecondDevice);
        // And admitted before counts for nothing any more: the new device, leaving and coming back, knocks.
        Room.LeaveConnection("c2");
        Assert.True(Script.JoinPatient("c4", other.DeviceKey).Knocked);
    }

    [Theory]
    [InlineData(false, ParticipantStates.WaitingToBeAdmitted)]
    [InlineData(true, ParticipantStates.SentBack)]
    public void Another_device_takes_over_an_empty_waiting_seat_keeping_its_place(bool sentBack, string state)
    {
        var first = Script.JoinPatient("c1");
        if (sentBack)
        {
            Room.Admit(first.Participant.Id);
            Room.SendBack(first.Participant.Id, RoomScript.Now.AddMinutes(1));
        }

        Room.Disconnect("c1", RoomScript.Now.AddMinutes(2));

        var other = Script.JoinPatient("c2", at: RoomScript.Now.AddMinutes(3));

        Assert.Equal((false, false, false), (other.Knocked, other.Rejoined, other.FirstArrival));
        Assert.Equal((first.Participant.Id, state), (other.Participant.Id, other.Participant.State));
        Assert.Equal(sentBack ? RoomScript.Now.AddMinutes(1) : RoomScript.Now, other.Participant.WaitingSince);
        Assert.NotEqual(first.DeviceKey, other.DeviceKey);
        Assert.Empty(Room.ExpireDropped(RoomScript.Now.AddHours(1), Grace));
    }

    [Fact]
    public void A_new_device_on_a_seat_left_on_purpose_knocks_even_if_admitted_before()
    {
        Script.AdmittedPatient("c1");
        Room.LeaveConnection("c1");

        var other = Script.JoinPatient("c2", at: RoomScript.Now.AddMinutes(5));

        Assert.True(other.Knocked);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, other.Participant.State);
        Assert.Equal(RoomScript.Now.AddMinutes(5), other.Participant.WaitingSince);
    }

    [Fact]
    public void A_key_opens_only_its_own_contacts_seat()
    {
        var patient = Script.AdmittedPatient("p1");
        Room.Disconnect("p1", RoomScript.Now);

        var caregiver = Script.JoinCaregiver("g1", patient.DeviceKey);

        Assert.Equal((true, true), (caregiver.Knocked, caregiver.FirstArrival));
        Assert.Equal(RoomScript.CaregiverSeat, caregiver.Participant.Id);
        Assert.Equal(ParticipantRoles.Caregiver, caregiver.Participant.Role);
        Assert.NotEqual(patient.DeviceKey, caregiver.DeviceKey);
        var seat = Room.Find(patient.Participant.Id)!;
        Assert.Equal((ParticipantStates.Admitted, 0), (seat.State, seat.Connections.Count));
    }

    // ---- denied -------------------------------------------------------------------------------

    [Fact]
    public void Denied_stays_denied_on_every_device_and_the_refused_connection_is_not_attached()
    {
        var first = Script.JoinPatient("c1");
        Room.Deny(first.Participant.Id);
        Room.LeaveConnection("c1");
        var version = Room.Version;

        foreach (var (connection, key) in new[] { ("c2", null), ("c3", first.DeviceKey), ("c4", "not-the-key") })
        {
            var again = Script.JoinPatient(connection, key);

            Assert.Equal((ParticipantStates.Denied, false, false, false), (again.Participant.State, again.Knocked, again.Rejoined, again.FirstArrival));
            Assert.Null(again.DeviceKey);
            Assert.Empty(again.Participant.Connections);
            Assert.Null(Room.FindByConnection(connection));
        }

        Assert.Equal(version, Room.Version);
        Assert.Equal(0, Room.ConnectedCount);
        Assert.Single(Room.Participants());
    }

    [Fact]
    public void A_denied_second_device_back_with_its_key_stays_out_and_its_connection_is_not_attached()
    {
        Script.AdmittedPatient("c1");
        var second = Script.JoinPatient("c2");
        Assert.NotNull(Room.Deny(second.Participant.Id));
        Room.Disconnect("c2", RoomScript.Now);
        var version = Room.Version;

        var again = Script.JoinPatient("c3", second.DeviceKey);

        Assert.Equal((second.Participant.Id, ParticipantStates.Denied), (again.Participant.Id, again.Participant.State));
        Assert.Equal((false, false), (again.Knocked, again.Rejoined));
        Assert.Empty(again.Participant.Connections);
        // The hub refuses this join without keeping the connection, so it would never be let go of here.
        Assert.Null(Room.FindByConnection("c3"));
        Assert.Equal(1, Room.ConnectedCount);
        Assert.Equal(version, Room.Version);
    }
}
