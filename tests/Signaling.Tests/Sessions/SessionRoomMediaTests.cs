using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// The room keeps, with each participant, the tab that negotiates their media (where the relay's later subscribe offers
/// go) and the offers they made while waiting, so neither can outlive the participant or the tab; and an empty room can
/// be ended in one step with the look.
/// </summary>
public sealed class SessionRoomMediaTests : RoomScriptTests
{
    [Theory]
    [InlineData(ParticipantStates.WaitingToBeAdmitted)]
    [InlineData(ParticipantStates.SentBack)]
    [InlineData(ParticipantStates.Admitted)]
    public void A_participant_who_waits_or_is_admitted_negotiates_media_on_the_tab_that_asks(string state)
    {
        var id = Script.PatientIn(state);

        var claimed = Room.ClaimMedia("c1");

        Assert.Equal((id, state), (claimed?.Id, claimed?.State));
        Assert.Equal("c1", Room.MediaConnectionOf(id));
    }

    [Theory]
    [InlineData(ParticipantStates.Denied)]
    [InlineData(ParticipantStates.SessionEnded)]
    public void A_denied_or_ended_participant_claims_no_media(string state)
    {
        var id = Script.PatientIn(state);

        var claimed = Room.ClaimMedia("c1");

        Assert.Equal(state, claimed?.State);
        Assert.Null(Room.MediaConnectionOf(id));
    }

    [Fact]
    public void A_connection_not_in_the_room_claims_nothing()
    {
        Script.JoinTherapist("t1");

        Assert.Null(Room.ClaimMedia("stranger"));
        Assert.Null(Room.MediaConnectionOf(RoomScript.PatientSeat));
    }

    [Fact]
    public void A_second_tab_that_negotiates_takes_over_and_the_first_tab_leaving_changes_nothing()
    {
        Script.JoinTherapist("t1");
        Script.JoinTherapist("t2");
        Room.ClaimMedia("t1");

        Room.ClaimMedia("t2");
        Assert.Equal("t2", Room.MediaConnectionOf(RoomScript.TherapistSeat));

        Room.LeaveConnection("t1");
        Assert.Equal("t2", Room.MediaConnectionOf(RoomScript.TherapistSeat));
    }

    [Fact]
    public void The_negotiating_tab_that_leaves_or_drops_no_longer_gets_offers()
    {
        Script.JoinTherapist("t1");
        Script.JoinTherapist("t2");
        Room.ClaimMedia("t1");

        Room.Disconnect("t1", RoomScript.Now);
        Assert.Null(Room.MediaConnectionOf(RoomScript.TherapistSeat));

        Room.ClaimMedia("t2");
        Room.LeaveConnection("t2");
        Assert.Null(Room.MediaConnectionOf(RoomScript.TherapistSeat));
    }

    [Fact]
    public void A_participant_sent_away_takes_their_media_tab_with_them()
    {
        var id = Script.PatientIn(ParticipantStates.Admitted);
        Room.ClaimMedia("c1");

        Room.Remove(id);

        Assert.Null(Room.MediaConnectionOf(id));
        Assert.Null(Room.ClaimMedia("c1"));
    }

    [Fact]
    public void An_empty_room_ends_at_once_and_then_lets_nobody_in()
    {
        var version = Room.Version;

        Assert.True(Room.EndIfEmpty());

        Assert.True(Room.IsEnded);
        Assert.Equal(version + 1, Room.Version);
        Assert.Equal(ParticipantStates.SessionEnded, Script.JoinPatient("c1").Participant.State);
        Assert.Empty(Room.Participants());
        Assert.False(Room.EndIfEmpty()); // ended already
    }

    [Fact]
    public void A_room_with_anyone_in_it_even_someone_who_left_does_not_end_as_empty()
    {
        Script.PatientIn(ParticipantStates.Left);

        Assert.False(Room.EndIfEmpty());

        Assert.False(Room.IsEnded);
    }

    [Fact]
    public void Offers_made_while_waiting_are_counted_until_admitted_and_counted_afresh_after()
    {
        var id = Script.JoinPatient("c1").Participant.Id;

        Assert.Equal([1, 2, 3], Enumerable.Range(0, 3).Select(_ => Room.CountOfferWhileWaiting(id)));
        Room.Admit(id);
        Room.SendBack(id, RoomScript.Now);
        Assert.Equal(1, Room.CountOfferWhileWaiting(id));
        Assert.Equal(0, Room.CountOfferWhileWaiting("nobody"));
    }

    [Fact]
    public void Offers_made_while_waiting_are_counted_afresh_after_leaving_or_losing_the_place()
    {
        var left = Script.JoinPatient("c1").Participant.Id;
        var dropped = Script.JoinCaregiver("g1").Participant.Id;
        Room.CountOfferWhileWaiting(left);
        Room.CountOfferWhileWaiting(dropped);
        Room.CountOfferWhileWaiting(dropped);

        Room.LeaveConnection("c1");
        Room.Disconnect("g1", RoomScript.Now);
        Assert.Equal(3, Room.CountOfferWhileWaiting(dropped)); // a drop keeps the place, and the count
        Room.ExpireDropped(RoomScript.Now + Grace, Grace);

        Assert.Equal(1, Room.CountOfferWhileWaiting(left));
        Assert.Equal(1, Room.CountOfferWhileWaiting(dropped));
    }
}
