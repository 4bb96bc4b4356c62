using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Sessions;
using Attachment = Teletherapy.Signaling.Sessions.SessionRegistry.Attachment;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// Which rooms a node holds and which connection is in which (<see cref="SessionRegistry"/>), without a hub: at most one
/// room per appointment, a saved room adopted once, a connection in one held room at most, and nothing of a closed room
/// left behind or made after its close.
/// </summary>
public sealed class SessionRegistryTests
{
    private static readonly DateTimeOffset Now = RoomScript.Now;

    private readonly SessionRegistry _registry = new();

    private static SessionAppointment NewAppointment() =>
        new(Guid.NewGuid(), Guid.NewGuid(), Now, Now.AddMinutes(50), Now.AddMinutes(-10), Now.AddMinutes(110), "scheduled", [RoomScript.Therapist]);

    [Fact]
    public void An_appointment_has_one_room_until_it_is_closed_then_a_new_one()
    {
        var appointment = NewAppointment();
        var room = _registry.Open(appointment, Now);

        Assert.Same(room, _registry.Open(appointment, Now));
        Assert.Same(room, _registry.Find(appointment.Id));
        Assert.True(_registry.Holds(room));
        Assert.Equal([appointment.Id], _registry.RoomIds());

        Assert.True(_registry.Close(room));
        Assert.False(_registry.Holds(room));
        Assert.Null(_registry.Find(appointment.Id));
        Assert.False(_registry.Close(room)); // closed already

        var next = _registry.Open(appointment, Now);
        Assert.NotSame(room, next);
        Assert.True(_registry.Holds(next));
    }

    [Fact]
    public async Task Joins_opening_the_same_room_at_once_all_get_the_one_room_restored_from_its_saved_state()
    {
        var appointment = NewAppointment();
        var before = new SessionRoom(appointment);
        var admitted = before.JoinContact(RoomScript.Patient, RoomScript.PatientName, ParticipantRoles.Patient, "old", null, Now);
        before.Admit(admitted.Participant.Id);
        Assert.True(_registry.Adopt(before.Capture()));

        using var start = new Barrier(8);
        var rooms = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return _registry.Open(appointment, Now);
        })));

        var room = Assert.Single(rooms.Distinct());
        Assert.Equal(ParticipantStates.Admitted, room.Find(admitted.Participant.Id)?.State);
        Assert.Same(room, _registry.Find(appointment.Id));
    }

    [Fact]
    public void A_saved_state_is_opened_once_and_is_not_taken_over_a_room_already_open()
    {
        var appointment = NewAppointment();
        var saved = new SessionRoom(appointment);
        saved.JoinTherapist(RoomScript.Therapist, RoomScript.TherapistName, "t0", Now);

        Assert.True(_registry.Adopt(saved.Capture()));
        var restored = _registry.Open(appointment, Now);
        Assert.Single(restored.Participants());
        Assert.False(_registry.Adopt(new SessionRoom(appointment).Capture())); // open here: it goes on as it is
        Assert.Same(restored, _registry.Find(appointment.Id));

        Assert.True(_registry.Close(restored));
        Assert.Empty(_registry.Open(appointment, Now).Participants()); // the state was used up by the first open
    }

    [Fact]
    public void Release_forgets_the_room_its_saved_state_and_its_connections_and_closes_what_was_made_for_it()
    {
        var held = NewAppointment();
        var room = _registry.Open(held, Now);
        var other = _registry.Open(NewAppointment(), Now);
        Assert.Equal(Attachment.Attached, _registry.Attach("a", room));
        Assert.Equal(Attachment.Attached, _registry.Attach("b", other));
        var saved = NewAppointment();
        var savedRoom = new SessionRoom(saved);
        savedRoom.JoinTherapist(RoomScript.Therapist, RoomScript.TherapistName, "t0", Now);
        Assert.True(_registry.Adopt(savedRoom.Capture()));
        var closed = new List<SessionRoom>();

        Assert.Same(room, _registry.Release(held.Id, closed.Add));
        Assert.Null(_registry.Release(saved.Id, closed.Add));

        Assert.Equal([room], closed);
        Assert.Null(_registry.Find(held.Id));
        Assert.Null(_registry.RoomOf("a"));
        Assert.Same(other, _registry.RoomOf("b"));
        Assert.Empty(_registry.Open(saved, Now).Participants()); // its saved state went with the release
    }

    [Fact]
    public void A_connection_is_in_one_room_at_most()
    {
        var first = _registry.Open(NewAppointment(), Now);
        var second = _registry.Open(NewAppointment(), Now);

        Assert.Equal(Attachment.Attached, _registry.Attach("c", first));
        Assert.Equal(Attachment.Attached, _registry.Attach("c", first)); // again in the same room: a second join of the tab
        Assert.Equal(Attachment.InAnotherRoom, _registry.Attach("c", second));
        Assert.Same(first, _registry.RoomOf("c"));

        _registry.Detach("c", second); // not its room: nothing happens
        Assert.Same(first, _registry.RoomOf("c"));
        _registry.Detach("c", first);
        Assert.Null(_registry.RoomOf("c"));
        Assert.Equal(Attachment.Attached, _registry.Attach("c", second));
    }

    [Fact]
    public void A_closed_room_takes_no_connection_and_its_connections_go_with_it()
    {
        var appointment = NewAppointment();
        var room = _registry.Open(appointment, Now);
        var other = _registry.Open(NewAppointment(), Now);
        _registry.Attach("in-room", room);
        _registry.Attach("elsewhere", other);

        Assert.True(_registry.Close(room));

        Assert.Null(_registry.RoomOf("in-room"));
        Assert.Same(other, _registry.RoomOf("elsewhere"));
        Assert.Equal(Attachment.RoomClosed, _registry.Attach("late", room));
        Assert.Null(_registry.RoomOf("late"));

        // The room opened since for the appointment is not the closed one: closing the old one again leaves it be.
        var reopened = _registry.Open(appointment, Now);
        _registry.Attach("new", reopened);
        Assert.False(_registry.Close(room));
        Assert.Same(reopened, _registry.Find(appointment.Id));
        Assert.Same(reopened, _registry.RoomOf("new"));
    }

    [Fact]
    public void A_room_with_someone_in_it_is_not_let_go_as_empty()
    {
        var room = _registry.Open(NewAppointment(), Now);
        room.JoinTherapist(RoomScript.Therapist, RoomScript.TherapistName, "t1", Now);
        var closed = new List<SessionRoom>();

        Assert.False(_registry.CloseIfEmpty(room, closed.Add));

        Assert.True(_registry.Holds(room));
        Assert.False(room.IsEnded);
        Assert.Empty(closed);
    }

    [Fact]
    public void An_empty_room_is_ended_as_it_is_let_go_so_a_join_that_found_it_open_gets_no_place_in_it()
    {
        var appointment = NewAppointment();
        var room = _registry.Open(appointment, Now); // a join found it open ...
        var closed = new List<SessionRoom>();

        Assert.True(_registry.CloseIfEmpty(room, closed.Add)); // ... and the refusal of the last one in it lets it go

        Assert.Equal([room], closed);
        Assert.True(room.IsEnded);
        Assert.False(_registry.Holds(room));
        var late = room.JoinTherapist(RoomScript.Therapist, RoomScript.TherapistName, "t1", Now);
        Assert.Equal(ParticipantStates.SessionEnded, late.Participant.State);
        Assert.Empty(room.Participants());
        Assert.False(_registry.CloseIfEmpty(room, closed.Add));
        Assert.Single(closed);
    }

    [Fact]
    public void Things_are_made_for_a_room_only_while_it_is_held()
    {
        var room = _registry.Open(NewAppointment(), Now);

        Assert.Equal("router", _registry.WhileHeld(room, () => "router"));
        _registry.Close(room);
        var made = false;
        Assert.Null(_registry.WhileHeld(room, () =>
        {
            made = true;
            return "router";
        }));
        Assert.False(made);
    }

    [Fact]
    public async Task Nothing_is_made_for_a_room_after_its_close_began_even_when_both_happen_at_once()
    {
        for (var round = 0; round < 50; round++)
        {
            var room = _registry.Open(NewAppointment(), Now);
            var made = 0;
            var madeWhenClosed = -1;
            using var start = new Barrier(5);
            var makers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < 200; i++)
                {
                    _registry.WhileHeld(room, () => (object)Interlocked.Increment(ref made));
                }
            })).ToList();
            var closer = Task.Run(() =>
            {
                start.SignalAndWait();
                _registry.Close(room, _ => madeWhenClosed = Volatile.Read(ref made));
            });

            await Task.WhenAll([.. makers, closer]);

            Assert.Equal(madeWhenClosed, made);
        }
    }

    [Fact]
    public void A_connection_that_closed_while_its_join_was_on_the_way_is_not_attached()
    {
        var room = _registry.Open(NewAppointment(), Now);
        using (_registry.Joining("c"))
        {
            Assert.Null(_registry.Drop("c")); // in no room yet

            Assert.Equal(Attachment.ConnectionClosed, _registry.Attach("c", room));
            Assert.Null(_registry.RoomOf("c"));
        }

        // Once the join is done, nothing of the connection is kept.
        Assert.Equal(Attachment.Attached, _registry.Attach("c", room));
    }

    [Fact]
    public void A_connection_that_closes_after_its_join_got_in_leaves_its_room()
    {
        var room = _registry.Open(NewAppointment(), Now);
        using (_registry.Joining("c"))
        {
            Assert.Equal(Attachment.Attached, _registry.Attach("c", room));
        }

        Assert.Same(room, _registry.Drop("c"));
        Assert.Null(_registry.RoomOf("c"));
        Assert.Null(_registry.Drop("c"));
    }

    [Fact]
    public void A_close_without_a_join_on_the_way_leaves_nothing_marked()
    {
        var room = _registry.Open(NewAppointment(), Now);

        Assert.Null(_registry.Drop("c"));

        using (_registry.Joining("c"))
        {
            Assert.Equal(Attachment.Attached, _registry.Attach("c", room));
        }
    }

    [Fact]
    public void Two_joins_of_one_connection_keep_its_close_in_mind_until_both_are_done()
    {
        var room = _registry.Open(NewAppointment(), Now);
        var first = _registry.Joining("c");
        using (_registry.Joining("c"))
        {
            _registry.Drop("c");
            first.Dispose();
            first.Dispose(); // once only

            Assert.Equal(Attachment.ConnectionClosed, _registry.Attach("c", room));
        }

        Assert.Equal(Attachment.Attached, _registry.Attach("c", room));
    }
}
