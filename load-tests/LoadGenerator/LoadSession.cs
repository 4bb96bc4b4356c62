namespace Teletherapy.LoadTests;

/// <summary>One 1:1 session of the load: a therapist and a patient, each publishing and receiving the other.</summary>
internal sealed class LoadSession(int index, MediaParticipant therapist, MediaParticipant patient) : IDisposable
{
    public int Index { get; } = index;

    public MediaParticipant Therapist { get; } = therapist;

    public MediaParticipant Patient { get; } = patient;

    /// <summary>Patient's join (JoinWithToken, or Janus's publisher join) until accepted, in ms.</summary>
    public double? JoinMs { get; set; }

    /// <summary>Stopwatch timestamp of the therapist's Admit (Janus: the patient's subscribe start).</summary>
    public long AdmitTimestamp { get; set; }

    public double? AdmitToFirstPacketMs { get; set; }

    public bool Up { get; set; }

    public string? Error { get; set; }

    /// <summary>Whatever the target keeps per session (hub connections, Janus handles).</summary>
    public object? TargetState { get; set; }

    public void Dispose()
    {
        Therapist.Dispose();
        Patient.Dispose();
    }
}
