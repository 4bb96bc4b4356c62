namespace Teletherapy.Signaling.Sessions;

/// <summary>SignalR group names of a session. A participant's tabs are all in their participant group.</summary>
internal static class SessionGroups
{
    public static string All(Guid appointmentId) => $"appt:{appointmentId:N}";

    public static string Therapists(Guid appointmentId) => $"appt:{appointmentId:N}:therapists";

    public static string Waiting(Guid appointmentId) => $"appt:{appointmentId:N}:waiting";

    public static string InSession(Guid appointmentId) => $"appt:{appointmentId:N}:session";

    public static string Participant(Guid appointmentId, string participantId) => $"appt:{appointmentId:N}:p:{participantId}";
}
