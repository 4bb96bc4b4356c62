using Teletherapy.Scheduling.Access;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Tests.Access;

/// <summary>The rights table of README: Roles and the practice pages, rule by rule.</summary>
public sealed class AccessPolicyTests
{
    private static readonly Guid Listed = Guid.NewGuid();
    private static readonly Guid Other = Guid.NewGuid();
    private static readonly Guid[] Therapists = [Listed];

    private static string? Appointment(string role, Guid id, AppointmentAction action) => AccessPolicy.ForAppointment(Caller.Staff(id, role), action, Therapists);

    [Theory]
    [InlineData(AppointmentAction.Read)]
    [InlineData(AppointmentAction.Book)]
    [InlineData(AppointmentAction.Change)]
    [InlineData(AppointmentAction.ReadAudit)]
    [InlineData(AppointmentAction.ReadMinutes)]
    [InlineData(AppointmentAction.Join)]
    public void A_therapist_acts_only_on_appointments_they_are_listed_on(AppointmentAction action)
    {
        Assert.Null(Appointment(StaffRoles.Therapist, Listed, action));
        Assert.Equal(AccessReasons.NotListed, Appointment(StaffRoles.Therapist, Other, action));
    }

    [Theory]
    [InlineData(AppointmentAction.Read, null)]
    [InlineData(AppointmentAction.Book, null)]
    [InlineData(AppointmentAction.Change, null)]
    [InlineData(AppointmentAction.ReadMinutes, null)]
    [InlineData(AppointmentAction.ReadAudit, AccessReasons.Forbidden)]
    [InlineData(AppointmentAction.Join, AccessReasons.Forbidden)]
    public void A_scheduler_runs_every_appointment_but_reads_no_audit_and_never_joins(AppointmentAction action, string? expected)
    {
        Assert.Equal(expected, Appointment(StaffRoles.Scheduler, Other, action));
        Assert.Equal(expected, Appointment(StaffRoles.Scheduler, Listed, action));
    }

    [Theory]
    [InlineData(AppointmentAction.Read)]
    [InlineData(AppointmentAction.Book)]
    [InlineData(AppointmentAction.Change)]
    [InlineData(AppointmentAction.ReadAudit)]
    [InlineData(AppointmentAction.ReadMinutes)]
    public void An_admin_and_an_integrator_may_do_everything_with_any_appointment(AppointmentAction action)
    {
        Assert.Null(Appointment(StaffRoles.Admin, Other, action));
        Assert.Null(AccessPolicy.ForAppointment(Caller.Integrator, action, Therapists));
    }

    [Fact]
    public void Joining_needs_a_listing_even_for_an_admin_and_is_never_done_with_an_api_key()
    {
        Assert.Equal(AccessReasons.NotListed, Appointment(StaffRoles.Admin, Other, AppointmentAction.Join));
        Assert.Null(Appointment(StaffRoles.Admin, Listed, AppointmentAction.Join));
        Assert.Equal(AccessReasons.Forbidden, AccessPolicy.ForAppointment(Caller.Integrator, AppointmentAction.Join, Therapists));
    }

    [Fact]
    public void Patients_are_edited_by_admins_and_schedulers_and_read_by_their_therapists()
    {
        foreach (var role in new[] { StaffRoles.Admin, StaffRoles.Scheduler })
        {
            Assert.Null(AccessPolicy.ForPatient(Caller.Staff(Other, role), PatientAction.Read, isTherapistOfPatient: false));
            Assert.Null(AccessPolicy.ForPatient(Caller.Staff(Other, role), PatientAction.Write, isTherapistOfPatient: false));
        }

        var therapist = Caller.Staff(Listed, StaffRoles.Therapist);
        Assert.Null(AccessPolicy.ForPatient(therapist, PatientAction.Read, isTherapistOfPatient: true));
        Assert.Equal(AccessReasons.NotListed, AccessPolicy.ForPatient(therapist, PatientAction.Read, isTherapistOfPatient: false));
        Assert.Equal(AccessReasons.Forbidden, AccessPolicy.ForPatient(therapist, PatientAction.Write, isTherapistOfPatient: true));
    }

    [Fact]
    public void Lists_show_a_therapist_their_own_and_everyone_else_all()
    {
        Assert.Equal(Listed, AccessPolicy.VisibleTherapist(Caller.Staff(Listed, StaffRoles.Therapist)));
        Assert.Null(AccessPolicy.VisibleTherapist(Caller.Staff(Listed, StaffRoles.Scheduler)));
        Assert.Null(AccessPolicy.VisibleTherapist(Caller.Staff(Listed, StaffRoles.Admin)));
        Assert.Null(AccessPolicy.VisibleTherapist(Caller.Integrator));
        Assert.Equal(AccessReasons.Forbidden, AccessPolicy.ForAdministration(Caller.Staff(Listed, StaffRoles.Scheduler)));
        Assert.Equal(AccessReasons.Forbidden, AccessPolicy.ForAdministration(Caller.Staff(Listed, StaffRoles.Therapist)));
        Assert.Null(AccessPolicy.ForAdministration(Caller.Staff(Listed, StaffRoles.Admin)));
        Assert.Null(AccessPolicy.ForAdministration(Caller.Integrator));
    }

    [Fact]
    public void An_unknown_role_is_refused_everything()
    {
        var stranger = Caller.Staff(Listed, "owner");
        Assert.All(Enum.GetValues<AppointmentAction>(), a => Assert.Equal(AccessReasons.Forbidden, AccessPolicy.ForAppointment(stranger, a, Therapists)));
        Assert.Equal(AccessReasons.Forbidden, AccessPolicy.ForPatient(stranger, PatientAction.Read, true));
    }
}
