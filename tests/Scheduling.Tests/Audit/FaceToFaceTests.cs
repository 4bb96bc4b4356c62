using Teletherapy.Scheduling.Audit;

namespace Teletherapy.Scheduling.Tests.Audit;

public sealed class FaceToFaceTests
{
    private static readonly DateTimeOffset T = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly Guid Appointment = Guid.NewGuid();
    private static readonly Guid Therapist = Guid.NewGuid();
    private static readonly Guid Patient = Guid.NewGuid();
    private static readonly Guid Parent = Guid.NewGuid();
    private static long _id;

    private static AuditEvent Staff(int minute, string kind) => new(++_id, Appointment, T.AddMinutes(minute), kind, AuditActorKinds.Staff, Therapist, null, null);

    private static AuditEvent ByTherapist(int minute, string kind, Guid contact) => new(++_id, Appointment, T.AddMinutes(minute), kind, AuditActorKinds.Staff, Therapist, contact, null);

    private static AuditEvent Contact(int minute, string kind, Guid contact) => new(++_id, Appointment, T.AddMinutes(minute), kind, AuditActorKinds.Contact, contact, null, null);

    [Fact]
    public void Waiting_time_is_excluded_and_only_time_together_counts()
    {
        var events = new[]
        {
            Contact(0, AuditKinds.Knocked, Patient), // waiting from 10:00
            Staff(5, AuditKinds.Joined),
            ByTherapist(8, AuditKinds.Admitted, Patient), // together from 10:08
            ByTherapist(20, AuditKinds.SentBack, Patient), // apart 10:20
            ByTherapist(25, AuditKinds.Admitted, Patient), // together 10:25
            Contact(30, AuditKinds.Dropped, Patient), // apart 10:30
            Contact(32, AuditKinds.Rejoined, Patient), // together 10:32 (no knocking)
            ByTherapist(33, AuditKinds.Admitted, Parent),
            Contact(40, AuditKinds.Left, Patient), // parent still there
            Staff(50, AuditKinds.Ended),
        };
        Assert.Equal(TimeSpan.FromMinutes(12 + 5 + 18), FaceToFace.Compute(events, T.AddHours(2)));
    }

    [Fact]
    public void An_open_interval_counts_until_now_and_a_contact_alone_counts_nothing()
    {
        Assert.Equal(TimeSpan.Zero, FaceToFace.Compute([Contact(0, AuditKinds.Knocked, Patient), Contact(1, AuditKinds.Joined, Patient)], T.AddHours(1)));
        Assert.Equal(
            TimeSpan.FromMinutes(7),
            FaceToFace.Compute([Staff(0, AuditKinds.Joined), ByTherapist(3, AuditKinds.Admitted, Patient)], T.AddMinutes(10)));
    }

    [Fact]
    public void Removed_by_a_change_to_the_appointment_takes_its_subject_out_contact_or_therapist()
    {
        AuditEvent Removed(int minute, Guid subject) => new(++_id, Appointment, T.AddMinutes(minute), AuditKinds.Removed, AuditActorKinds.Integrator, null, subject, "link-revoked");
        var events = new[]
        {
            Staff(0, AuditKinds.Joined),
            ByTherapist(1, AuditKinds.Admitted, Patient), // together from 10:01
            Removed(6, Patient), // the link was revoked: apart at 10:06
            ByTherapist(7, AuditKinds.Admitted, Parent), // together from 10:07
            Removed(9, Therapist), // the therapist was taken off: apart at 10:09
        };
        Assert.Equal(TimeSpan.FromMinutes(5 + 2), FaceToFace.Compute(events, T.AddHours(1)));
    }
}
