using Teletherapy.Scheduling.Join;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// One appointment's <see cref="SessionRoom"/> driven by hand for its unit tests: fixed timestamps (no clock, no hub),
/// a listed therapist, a patient and a caregiver of the patient, each joining with a connection id of the test's choice.
/// </summary>
internal sealed class RoomScript
{
    /// <summary>The appointment's start; every test's "now" is this or a fixed offset from it.</summary>
    public static readonly DateTimeOffset Now = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public static readonly Guid Therapist = Guid.Parse("11111111-1111-1111-1111-111111111111");
    public static readonly Guid OtherTherapist = Guid.Parse("22222222-2222-2222-2222-222222222222");
    public static readonly Guid Patient = Guid.Parse("33333333-3333-3333-3333-333333333333");
    public static readonly Guid Caregiver = Guid.Parse("44444444-4444-4444-4444-444444444444");

    public const string TherapistName = "Dr. Ada Weber";
    public const string PatientName = "Sam Taylor";
    public const string CaregiverName = "Lou Taylor";

    public RoomScript()
    {
        Appointment = new SessionAppointment(
            Guid.NewGuid(), Guid.NewGuid(), Now, Now.AddMinutes(50), Now.AddMinutes(-10), Now.AddMinutes(110), "scheduled", [Therapist, OtherTherapist]);
        Room = new SessionRoom(Appointment);
    }

    public SessionAppointment Appointment { get; }

    public SessionRoom Room { get; }

    public static string PatientSeat => SessionRoom.ContactId(Patient);

    public static string CaregiverSeat => SessionRoom.ContactId(Caregiver);

    public static string TherapistSeat => SessionRoom.TherapistId(Therapist);

    public JoinOutcome JoinTherapist(string connection, DateTimeOffset? at = null) =>
        Room.JoinTherapist(Therapist, TherapistName, connection, at ?? Now);

    public JoinOutcome JoinPatient(string connection, string? key = null, DateTimeOffset? at = null) =>
        Room.JoinContact(Patient, PatientName, ParticipantRoles.Patient, connection, key, at ?? Now);

    public JoinOutcome JoinCaregiver(string connection, string? key = null, DateTimeOffset? at = null) =>
        Room.JoinContact(Caregiver, CaregiverName, ParticipantRoles.Caregiver, connection, key, at ?? Now);

    /// <summary>The patient knocks on <paramref name="connection"/> and is let in.</summary>
    public JoinOutcome AdmittedPatient(string connection, DateTimeOffset? at = null)
    {
        var joined = JoinPatient(connection, at: at);
        Assert.NotNull(Room.Admit(joined.Participant.Id));
        return joined;
    }

    /// <summary>The patient's seat, on <paramref name="connection"/>, brought into <paramref name="state"/> the way it gets there.</summary>
    public string PatientIn(string state, string connection = "c1")
    {
        var id = JoinPatient(connection).Participant.Id;
        Action way = state switch
        {
            ParticipantStates.WaitingToBeAdmitted => () => { },
            ParticipantStates.Admitted => () => Room.Admit(id),
            ParticipantStates.SentBack => () => Room.SendBack(Room.Admit(id)!.Id, Now),
            ParticipantStates.Denied => () => Room.Deny(id),
            ParticipantStates.Left => () => Room.LeaveConnection(connection),
            ParticipantStates.SessionEnded => () => Room.End(),
            _ => throw new ArgumentOutOfRangeException(nameof(state), state, "no way there in these tests"),
        };
        way();
        Assert.Equal(state, StateOf(id));
        return id;
    }

    /// <summary>The participant's state as the room holds it now.</summary>
    public string StateOf(string participantId) => Room.Find(participantId)?.State ?? "(not in the room)";

    /// <summary>The room moves to another node: captured here, restored there at <paramref name="at"/>.</summary>
    public SessionRoom Moved(DateTimeOffset at) => SessionRoom.Restore(Appointment, Room.Capture(), at);
}

/// <summary>A test class of the room: each test gets a fresh <see cref="RoomScript"/>.</summary>
public abstract class RoomScriptTests
{
    /// <summary>How long a waiting participant who dropped keeps their place, as the sessions run it.</summary>
    private protected static readonly TimeSpan Grace = SessionCoordinator.WaitingGrace;

    private protected RoomScript Script { get; } = new();

    private protected SessionRoom Room => Script.Room;
}
