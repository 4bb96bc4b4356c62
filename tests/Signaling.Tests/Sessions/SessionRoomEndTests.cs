using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// The room as a state machine, at its end and in its version: End session ends it for everyone and for good ("Ending
/// the session stops every link", README: The join rules), and the version grows with each change worth keeping only.
/// </summary>
public sealed class SessionRoomEndTests : RoomScriptTests
{
    /// <summary>A room with someone in every state: therapist, admitted patient, waiting caregiver, a denied and a left contact.</summary>
    private (JoinOutcome Patient, string Denied, string Left) Crowd()
    {
        Script.JoinTherapist("t1");
        var patient = Script.AdmittedPatient("c1");
        Script.JoinCaregiver("g1");
        var denied = Room.JoinContact(Guid.NewGuid(), "Eve", ParticipantRoles.Patient, "e1", null, RoomScript.Now).Participant.Id;
        Room.Deny(denied);
        var left = Room.JoinContact(Guid.NewGuid(), "Lee", ParticipantRoles.Caregiver, "l1", null, RoomScript.Now).Participant.Id;
        Room.LeaveConnection("l1");
        return (patient, denied, left);
    }

    [Fact]
    public void End_ends_everyone_and_hands_back_the_connections_to_tell()
    {
        var (patient, denied, left) = Crowd();
        var version = Room.Version;

        var everyone = Room.End();

        Assert.True(Room.IsEnded);
        Assert.Equal(version + 1, Room.Version);
        Assert.Equal(
            [
                (RoomScript.TherapistSeat, "t1"), (patient.Participant.Id, "c1"), (RoomScript.CaregiverSeat, "g1"), (denied, "e1"), (left, ""),
            ],
            everyone.Select(p => (p.Id, string.Join(',', p.Connections))));
        Assert.All(everyone, p => Assert.Equal(ParticipantStates.SessionEnded, p.State));
        Assert.All(Room.Participants(), p => Assert.Equal(ParticipantStates.SessionEnded, Room.ScreenStateOf(p)));
        Assert.Empty(Room.Snapshot().Waiting);
        Assert.Empty(Room.Snapshot().InSession);
        Assert.Empty(Room.WaitingIds());
        Assert.Equal(0, Room.WaitingCount);
    }

    [Fact]
    public void Ending_again_changes_nothing()
    {
        Crowd();
        var first = Room.End();
        var version = Room.Version;

        var again = Room.End();

        Assert.Equal(version, Room.Version);
        Assert.Equal(first.Select(p => (p.Id, p.State, p.Connections.Count)), again.Select(p => (p.Id, p.State, p.Connections.Count)));
    }

    [Fact]
    public void After_the_end_no_join_brings_anyone_back()
    {
        var (patient, denied, _) = Crowd();
        Room.Disconnect("c1", RoomScript.Now);
        Room.End();
        var before = Room.Capture();

        var newcomer = Guid.NewGuid();
        var joins = new (string Connection, string Id, JoinOutcome Outcome)[]
        {
            ("x1", RoomScript.PatientSeat, Script.JoinPatient("x1", patient.DeviceKey)), // admitted before, on the same device
            ("x2", RoomScript.PatientSeat, Script.JoinPatient("x2")), // the link on another device, the seat empty
            ("x3", RoomScript.CaregiverSeat, Script.JoinCaregiver("x3")), // the link on another device, the seat's own connected
            ("x4", SessionRoom.ContactId(newcomer), Room.JoinContact(newcomer, "New", ParticipantRoles.Caregiver, "x4", null, RoomScript.Now)),
            ("x5", RoomScript.TherapistSeat, Script.JoinTherapist("x5")),
            ("x6", SessionRoom.TherapistId(RoomScript.OtherTherapist), Room.JoinTherapist(RoomScript.OtherTherapist, "Dr. Bo Lind", "x6", RoomScript.Now)),
        };

        Assert.All(joins, join =>
        {
            var (connection, id, outcome) = join;
            Assert.Equal((id, ParticipantStates.SessionEnded), (outcome.Participant.Id, outcome.Participant.State));
            Assert.Equal((false, false, false, false), (outcome.Knocked, outcome.Rejoined, outcome.FirstArrival, outcome.FirstTherapistArrived));
            Assert.Null(outcome.DeviceKey);
            Assert.DoesNotContain(connection, outcome.Participant.Connections);
            Assert.Null(Room.FindByConnection(connection));
        });
        Assert.Equal(["g1"], joins[2].Outcome.Participant.Connections); // as they are: the caregiver's own tab is still open
        Assert.Equal(before, Room.Capture()); // nobody added, nobody changed, the version as it was
        Assert.Equal(ParticipantStates.SessionEnded, Script.StateOf(denied));
    }

    [Fact]
    public void Leaving_or_dropping_after_the_end_is_still_the_end()
    {
        Crowd();
        Script.JoinTherapist("t2");
        Room.End();

        Assert.Equal((ParticipantStates.SessionEnded, false), Room.LeaveConnection("t2") is { } tab ? (tab.Participant.State, tab.Left) : default);
        Assert.Equal((ParticipantStates.SessionEnded, true), Room.LeaveConnection("t1") is { } last ? (last.Participant.State, last.Left) : default);
        Assert.Equal(ParticipantStates.SessionEnded, Room.Disconnect("g1", RoomScript.Now)!.State);
        Assert.Empty(Room.ExpireDropped(RoomScript.Now.AddHours(1), Grace));

        Assert.All(Room.Participants(), p => Assert.Equal(ParticipantStates.SessionEnded, p.State));
    }

    /// <summary>
    /// Every transition in turn, with how much it moved the version: one for each change a restored room must know (a
    /// join, a tab of a device whose last connection goes, an admission, ...; README: Scaling out, "After every change
    /// ... the room's grain saves"), none for reads, refusals and changes that change nothing.
    /// </summary>
    [Fact]
    public void The_version_grows_by_one_with_each_change_worth_keeping_and_not_with_anything_else()
    {
        var check = new ConnectionCheckSummary("good", true, true, 30, 0, 1800);
        string patient = RoomScript.PatientSeat, second = RoomScript.PatientSeat + "-1";
        string? secondKey = null;
        var steps = new (string Step, Action Act)[]
        {
            ("a therapist joins", () => Script.JoinTherapist("t1")),
            ("a second tab of theirs", () => Script.JoinTherapist("t2")),
            ("the patient knocks", () => Script.JoinPatient("c1")),
            ("a connection check", () => Room.SetConnectionCheck(patient, check)),
            ("a connection check of nobody", () => Room.SetConnectionCheck("nobody", check)),
            ("admit", () => Room.Admit(patient)),
            ("admit again", () => Room.Admit(patient)),
            ("deny someone admitted", () => Room.Deny(patient)),
            ("a second device knocks", () => secondKey = Script.JoinPatient("c2").DeviceKey),
            ("deny it", () => Room.Deny(second)),
            ("it leaves", () => Room.LeaveConnection("c2")),
            ("it comes back with its key", () => Script.JoinPatient("c3", secondKey)),
            ("send the patient back", () => Room.SendBack(patient, RoomScript.Now.AddMinutes(1))),
            ("send back again", () => Room.SendBack(patient, RoomScript.Now.AddMinutes(2))),
            ("reads", () => Read(patient)),
            ("a therapist tab that is not the last drops", () => Room.Disconnect("t2", RoomScript.Now)),
            ("the patient's only tab drops", () => Room.Disconnect("c1", RoomScript.Now)),
            ("a connection nobody has drops", () => Room.Disconnect("c1", RoomScript.Now)),
            ("the grace is not over", () => Room.ExpireDropped(RoomScript.Now + Grace - TimeSpan.FromTicks(1), Grace)),
            ("the grace is over", () => Room.ExpireDropped(RoomScript.Now + Grace, Grace)),
            ("nobody left to expire", () => Room.ExpireDropped(RoomScript.Now.AddHours(1), Grace)),
            ("a reschedule", () => Room.Reschedule(Script.Appointment with { Start = RoomScript.Now.AddMinutes(5) })),
            ("the therapist's last tab leaves", () => Room.LeaveConnection("t1")),
            ("a leave of a connection nobody has", () => Room.LeaveConnection("t1")),
            ("the second device is removed", () => Room.Remove(second)),
            ("removed again", () => Room.Remove(second)),
            ("end", () => Room.End()),
            ("end again", () => Room.End()),
            ("a join after the end", () => Script.JoinPatient("c9")),
            ("a control after the end", () => Room.Admit(patient)),
        };

        var moved = new List<(string, long)>();
        foreach (var (step, act) in steps)
        {
            var before = Room.Version;
            act();
            moved.Add((step, Room.Version - before));
        }

        var changes = new HashSet<string>
        {
            "a therapist joins", "a second tab of theirs", "the patient knocks", "a connection check", "admit", "a second device knocks", "deny it",
            "it leaves", "send the patient back", "the patient's only tab drops", "the grace is over", "the therapist's last tab leaves", "the second device is removed", "end",
        };
        Assert.Equal(steps.Select(s => (s.Step, changes.Contains(s.Step) ? 1L : 0L)), moved);
    }

    private void Read(string participantId)
    {
        _ = Room.Snapshot();
        _ = Room.Participants();
        _ = Room.Find(participantId);
        _ = Room.FindByConnection("c1");
        _ = Room.WaitingIds();
        _ = Room.ScreenStateOf(Room.Find(participantId)!);
        _ = Room.Capture();
        _ = (Room.IsTherapistPresent, Room.WaitingCount, Room.ConnectedCount, Room.IsEnded, Room.Appointment);
    }
}
