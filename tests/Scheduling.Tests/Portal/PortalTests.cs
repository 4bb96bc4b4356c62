using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Portal;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Portal;

public abstract class PortalTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private static readonly DateTimeOffset Start = SchedulingHarness.T0.AddHours(3);

    [DbFact]
    public async Task Sign_in_link_is_emailed_only_to_known_contacts_and_works_once()
    {
        await Harness.SeedAsync();
        var signIn = Harness.Get<PortalSignIn>();
        Assert.Null(await signIn.RequestLinkWithTokenAsync("stranger@example.org", CancellationToken.None));
        Assert.Empty(await Harness.AllAsync());

        var token = await signIn.RequestLinkWithTokenAsync(" Tom@Example.org ", CancellationToken.None);
        Assert.NotNull(token);
        var email = Assert.Single(await Harness.AllAsync());
        Assert.Equal("tom@example.org", email.Recipient);
        Assert.Contains($"/api/v1/portal/login/{token}", email.Mime().TextBody);

        Assert.Equal("tom@example.org", await signIn.ConsumeLinkAsync(token));
        Assert.Null(await signIn.ConsumeLinkAsync(token));

        var late = await signIn.RequestLinkWithTokenAsync("tom@example.org", CancellationToken.None);
        Harness.Time.Advance(TimeSpan.FromMinutes(15));
        Assert.Null(await signIn.ConsumeLinkAsync(late));
    }

    [DbFact]
    public async Task R10_notification_is_due_from_10_minutes_before_and_joins_the_session()
    {
        var seed = await Harness.SeedAsync();
        var created = (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50))).Unwrap();
        var portal = Harness.Get<PortalNotifications>();

        Harness.Time.SetUtcNow(Start - TimeSpan.FromSeconds(601));
        Assert.Empty(await portal.DueAsync("lea@example.org"));
        Assert.Equal(JoinReasons.TooEarly, (await portal.JoinAsync("lea@example.org", created.Id)).Reason);

        Harness.Time.SetUtcNow(Start - TimeSpan.FromMinutes(10));
        var notification = Assert.Single(await portal.DueAsync("lea@example.org"));
        Assert.Equal(created.Id, notification.AppointmentId);
        Assert.Equal("Lindenhof Praxis", notification.ClinicName);
        Assert.Equal("Europe/Berlin", notification.TimeZone);
        var (link, reason) = await portal.JoinAsync("lea@example.org", created.Id);
        Assert.Null(reason);
        var check = await Harness.Get<JoinService>().ResolveJoinTokenAsync(link!.JoinUrl[(link.JoinUrl.LastIndexOf('/') + 1)..]);
        Assert.True(check.RoomOpen);
        Assert.Equal(seed.SmsReminderContact.Id, check.Contact!.Id);
        Assert.Equal("caregiver", check.Contact.Role);

        Assert.Equal(JoinReasons.NotFound, (await portal.JoinAsync("stranger@example.org", created.Id)).Reason);
        (await Harness.Get<CancelAppointment>().HandleAsync(created.Id)).Unwrap();
        Assert.Empty(await portal.DueAsync("lea@example.org"));
        Assert.Equal(JoinReasons.Cancelled, (await portal.JoinAsync("lea@example.org", created.Id)).Reason);
    }

    [DbFact]
    public async Task Audit_events_round_trip_and_give_face_to_face_minutes()
    {
        var seed = await Harness.SeedAsync();
        var created = (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50))).Unwrap();
        var audit = Harness.Get<AuditLog>();
        Harness.Time.SetUtcNow(Start);
        await audit.AppendAsync(created.Id, AuditKinds.Knocked, AuditActor.Contact(seed.Primary.Id));
        await audit.AppendAsync(created.Id, AuditKinds.Joined, AuditActor.Staff(seed.Therapist.Id));
        Harness.Time.Advance(TimeSpan.FromMinutes(2));
        await audit.AppendAsync(created.Id, AuditKinds.Admitted, AuditActor.Staff(seed.Therapist.Id), subjectId: seed.Primary.Id);
        Harness.Time.Advance(TimeSpan.FromMinutes(45));
        await audit.AppendAsync(created.Id, AuditKinds.Ended, AuditActor.Staff(seed.Therapist.Id));
        Harness.Time.Advance(TimeSpan.FromMinutes(30));

        var events = await audit.ListAsync(created.Id);
        Assert.Equal([AuditKinds.Knocked, AuditKinds.Joined, AuditKinds.Admitted, AuditKinds.Ended], events.Select(e => e.Kind));
        Assert.Equal(seed.Primary.Id, events[2].SubjectId);
        Assert.Equal(Start, events[0].At);
        var minutes = await audit.FaceToFaceAsync(created.Id);
        Assert.Equal(45, minutes.Minutes);
        Assert.Equal(45 * 60, minutes.Seconds);
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class PortalTestsOnSqlite() : PortalTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class PortalTestsOnPostgres() : PortalTests(SqlDialect.Postgres);
