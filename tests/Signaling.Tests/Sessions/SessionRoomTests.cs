using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>The room as a state machine: seats belong to devices, a link alone never gets back in, Leave is per connection.</summary>
public sealed class SessionRoomTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly Guid Patient = Guid.NewGuid();

    private static SessionRoom NewRoom() =>
        new(new SessionAppointment(Guid.NewGuid(), Guid.NewGuid(), Now, Now.AddMinutes(50), Now.AddMinutes(-10), Now.AddMinutes(80), "scheduled", [Guid.NewGuid()]));

    private static JoinOutcome Join(SessionRoom room, string connection, string? key) =>
        room.JoinContact(Patient, "Sam Taylor", ParticipantRoles.Patient, connection, key, Now);

    [Fact]
    public void A_first_join_knocks_and_hands_out_a_device_key()
    {
        var room = NewRoom();

        var first = Join(room, "c1", null);

        Assert.True(first.Knocked);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, first.Participant.State);
        Assert.True(first.DeviceKey is { Length: >= 32 });
        Assert.NotEqual(first.DeviceKey, Join(NewRoom(), "c1", null).DeviceKey);
    }

    [Fact]
    public void The_same_device_comes_back_admitted_without_a_knock()
    {
        var room = NewRoom();
        var first = Join(room, "c1", null);
        room.Admit(first.Participant.Id);
        room.Disconnect("c1", Now);

        var back = Join(room, "c2", first.DeviceKey);

        Assert.False(back.Knocked);
        Assert.True(back.Rejoined);
        Assert.Equal(first.Participant.Id, back.Participant.Id);
        Assert.Equal(ParticipantStates.Admitted, back.Participant.State);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-key")]
    public void Another_device_with_the_link_knocks_as_a_second_device_while_the_first_is_here(string? key)
    {
        var room = NewRoom();
        var first = Join(room, "c1", null);
        room.Admit(first.Participant.Id);

        var second = Join(room, "c2", key);

        Assert.True(second.Knocked);
        Assert.NotEqual(first.Participant.Id, second.Participant.Id);
        Assert.True(second.Participant.SecondDevice);
        Assert.Equal("Sam Taylor (second device)", second.Participant.Name);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, second.Participant.State);
        Assert.NotEqual(first.DeviceKey, second.DeviceKey);
        // The first device is untouched: still admitted, still connected.
        var seat = room.Find(first.Participant.Id)!;
        Assert.Equal(ParticipantStates.Admitted, seat.State);
        Assert.Equal(["c1"], seat.Connections);
        Assert.True(Assert.Single(room.Snapshot().Waiting).SecondDevice);
    }

    [Fact]
    public void Another_device_takes_over_an_empty_seat_only_by_knocking()
    {
        var room = NewRoom();
        var first = Join(room, "c1", null);
        room.Admit(first.Participant.Id);
        room.Disconnect("c1", Now);

        var other = Join(room, "c2", null);

        Assert.True(other.Knocked);
        Assert.Equal(first.Participant.Id, other.Participant.Id);
        Assert.False(other.Participant.SecondDevice);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, other.Participant.State);
        // The old key no longer opens the seat: the first device, coming back, is now the second one.
        var old = Join(room, "c3", first.DeviceKey);
        Assert.True(old.Participant.SecondDevice);
    }

    [Fact]
    public void Denied_stays_denied_on_every_device()
    {
        var room = NewRoom();
        var first = Join(room, "c1", null);
        room.Deny(first.Participant.Id);

        Assert.Equal(ParticipantStates.Denied, Join(room, "c2", null).Participant.State);
        Assert.Equal(ParticipantStates.Denied, Join(room, "c3", first.DeviceKey).Participant.State);
    }

    [Fact]
    public void Leave_lets_go_of_the_calling_connection_only()
    {
        var room = NewRoom();
        var first = Join(room, "c1", null);
        room.Admit(first.Participant.Id);
        Join(room, "c2", first.DeviceKey); // a reload whose old connection is still open

        var (afterFirst, leftFirst) = room.LeaveConnection("c1")!.Value;
        Assert.False(leftFirst);
        Assert.Equal(ParticipantStates.Admitted, afterFirst.State);
        Assert.Equal(["c2"], afterFirst.Connections);

        var (afterSecond, leftSecond) = room.LeaveConnection("c2")!.Value;
        Assert.True(leftSecond);
        Assert.Equal(ParticipantStates.Left, afterSecond.State);
        Assert.Null(room.LeaveConnection("c2"));
    }
}
