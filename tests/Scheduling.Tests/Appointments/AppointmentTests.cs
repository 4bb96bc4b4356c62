using MimeKit;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Appointments;

public abstract class AppointmentTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private static readonly DateTimeOffset Start = SchedulingHarness.T0.AddDays(3).AddHours(6); // Thu 5 March 2026, 14:00 UTC = 15:00 Berlin

    private Task<Result<AppointmentCreated>> CreateAsync(Seed seed, RepeatRequest? repeat = null, DateTimeOffset? start = null) =>
        Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], start ?? Start, 50, true, repeat));

    [DbFact]
    public async Task Migrations_are_applied_once()
    {
        var runner = Harness.Get<MigrationRunner>();
        Assert.Equal(0, await runner.ApplyAsync());
        Assert.Equal(runner.Migrations().Count, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
        // Numbers rise from 1 and may leave a gap (a number taken by a change that lands later applies when it comes).
        var versions = runner.Migrations().Select(m => m.Version).ToList();
        Assert.Equal(1, versions[0]);
        Assert.All(versions.Zip(versions.Skip(1)), pair => Assert.True(pair.First < pair.Second));
    }

    [DbFact]
    public async Task R6_creating_sends_one_email_to_the_primary_and_each_email_reminder_contact()
    {
        var seed = await Harness.SeedAsync();
        var created = (await CreateAsync(seed)).Unwrap();

        var rows = await Harness.AllAsync();
        Assert.Equal(["mia@example.org", "tom@example.org"], rows.Select(r => r.Recipient).Order());
        Assert.All(rows, r => Assert.Equal("email", r.Channel));
        foreach (var row in rows)
        {
            var message = row.Mime();
            var to = Assert.Single(message.To.Mailboxes);
            Assert.Equal(row.Recipient, to.Address);
            Assert.Empty(message.Cc);
            Assert.Empty(message.Bcc);
            Assert.Contains("Join the session", message.HtmlBody);
            Assert.Contains("Join the session", message.TextBody);
            Assert.Contains("Lindenhof Praxis", message.HtmlBody);
            Assert.Contains("Thursday, 5 March 2026, 15:00 (Europe/Berlin)", message.TextBody);
            var invite = Assert.Single(message.Attachments.OfType<MimePart>(), a => a.FileName == "invite.ics");
            using var content = new MemoryStream();
            await invite.Content!.DecodeToAsync(content);
            var ics = System.Text.Encoding.UTF8.GetString(content.ToArray());
            Assert.Contains("BEGIN:VEVENT", ics);
            Assert.Contains("DTSTART:20260305T140000Z", ics);
            Assert.Contains("DTEND:20260305T145000Z", ics);
            Assert.Contains($"UID:{created.Id:D}@teletherapy", ics);

            var check = await Harness.Get<JoinService>().ResolveJoinTokenAsync(message.JoinToken());
            Assert.True(check.Decision.Allowed);
            Assert.Equal(created.Id, check.Appointment!.Id);
        }

        // Only hashes are stored.
        var hashes = await Harness.QueryAsync<string>("SELECT token_hash FROM join_links");
        Assert.Equal(2, hashes.Count);
        Assert.DoesNotContain(rows[0].Mime().JoinToken(), hashes);
    }

    [DbFact]
    public async Task Creating_a_non_teletherapy_appointment_sends_no_email()
    {
        var seed = await Harness.SeedAsync();
        (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50, Teletherapy: false))).Unwrap();
        Assert.Empty(await Harness.AllAsync());
    }

    [DbFact]
    public async Task R7_series_email_joins_the_first_occurrence_only_and_the_reminder_joins_its_own()
    {
        var seed = await Harness.SeedAsync();
        var created = (await CreateAsync(seed, new RepeatRequest(3, 7))).Unwrap();
        Assert.NotNull(created.SeriesId);
        Assert.Equal(3, created.Occurrences.Count);
        Assert.Equal(created.Occurrences[0].Id, created.Id);
        Assert.Equal(Start.AddDays(14), created.Occurrences[2].Start);

        var emails = await Harness.AllAsync();
        Assert.Equal(2, emails.Count);
        foreach (var email in emails)
        {
            var check = await Harness.Get<JoinService>().ResolveJoinTokenAsync(email.Mime().JoinToken());
            Assert.Equal(created.Occurrences[0].Id, check.Appointment!.Id);
            Assert.Contains("series of 3", email.Mime().TextBody);
        }

        Assert.Equal(0L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM join_links WHERE appointment_id <> @first", new { first = created.Occurrences[0].Id }));

        // A day before the second occurrence its reminder carries a link for the second occurrence.
        Harness.Time.SetUtcNow(created.Occurrences[1].Start.AddHours(-24));
        await Harness.Get<Teletherapy.Scheduling.Reminders.ReminderScheduler>().RunOnceAsync(CancellationToken.None);
        var reminder = Assert.Single(await Harness.AllAsync(), r => r.Kind == "reminder" && r.Channel == "email" && r.AppointmentId == created.Occurrences[1].Id);
        var second = await Harness.Get<JoinService>().ResolveJoinTokenAsync(reminder.Mime().JoinToken());
        Assert.True(second.Decision.Allowed);
        Assert.Equal(created.Occurrences[1].Id, second.Appointment!.Id);
    }

    [DbFact]
    public async Task Bad_input_is_refused_with_the_field_named_and_nothing_saved()
    {
        var seed = await Harness.SeedAsync();
        var scheduler = (await Harness.Get<StaffAccounts>().AddAsync(new AddStaffRequest("Front Desk", "desk@clinic.example", "password1", StaffRoles.Scheduler))).Unwrap();
        var departed = (await Harness.Get<StaffAccounts>().AddAsync(new AddStaffRequest("Dr. Gone", "gone@clinic.example", "password1"))).Unwrap();
        (await Harness.Get<StaffAccounts>().UpdateAsync(departed.Id, new UpdateStaffRequest(Active: false))).Unwrap();
        var noPrimary = (await Harness.Get<AddPatient>().HandleAsync(new AddPatientRequest("No Primary", [new ContactInput("Someone", "s@example.org", null, false, true, false)]))).Unwrap();

        var cases = new (string Field, CreateAppointmentRequest Request)[]
        {
            ("patientId", new(Guid.NewGuid(), [seed.Therapist.Id], Start, 50)),
            ("therapistIds[0]", new(seed.Patient.Id, [Guid.NewGuid()], Start, 50)),
            ("therapistIds[1]", new(seed.Patient.Id, [seed.Therapist.Id, scheduler.Id], Start, 50)),
            ("therapistIds[0]", new(seed.Patient.Id, [departed.Id], Start, 50)),
            ("patientId", new(noPrimary.Id, [seed.Therapist.Id], Start, 50)),
            ("end", new(seed.Patient.Id, [seed.Therapist.Id], Start, null, End: Start.AddMinutes(-5))),
            ("repeat.count", new(seed.Patient.Id, [seed.Therapist.Id], Start, 50, Repeat: new RepeatRequest(0, 7))),
            ("repeat.count", new(seed.Patient.Id, [seed.Therapist.Id], Start, 50, Repeat: new RepeatRequest(500, 7))),
            ("durationMinutes", new(seed.Patient.Id, [seed.Therapist.Id], Start, 0)),
            ("therapistIds", new(seed.Patient.Id, [], Start, 50)),
            ("start", new(seed.Patient.Id, [seed.Therapist.Id], null, 50)),
        };
        foreach (var (field, request) in cases)
        {
            var result = await Harness.Get<CreateAppointment>().HandleAsync(request);
            Assert.Equal(ResultStatus.Invalid, result.Status);
            Assert.Contains(result.Errors, e => e.Field == field);
        }

        Assert.Equal(0L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM appointments"));
        Assert.Equal(0L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM series"));
        Assert.Equal(0L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM join_links"));
        Assert.Empty(await Harness.AllAsync());
    }

    [DbFact]
    public async Task Unknown_time_zone_and_bad_contacts_are_refused()
    {
        var clinic = await Harness.Get<ClinicSettings>().SaveDefaultAsync(new SaveClinicRequest("X", "Mars/Olympus", false));
        Assert.Contains(clinic.Errors, e => e.Field == "timeZone");
        Assert.Null(await Harness.Get<ClinicSettings>().GetDefaultAsync());

        await Harness.SeedAsync();
        var patient = await Harness.Get<AddPatient>().HandleAsync(new AddPatientRequest("P", [new ContactInput("A", "not-an-email", null, true, false, false), new ContactInput("B", null, null, true, true, false)]));
        Assert.Contains(patient.Errors, e => e.Field == "contacts[0].email");
        Assert.Contains(patient.Errors, e => e.Field == "contacts[1].emailReminders");
        Assert.Contains(patient.Errors, e => e.Field == "contacts");
    }

    [DbFact]
    public async Task Reschedule_revokes_old_links_and_sends_new_ones()
    {
        var seed = await Harness.SeedAsync();
        var created = (await CreateAsync(seed)).Unwrap();
        var oldToken = (await Harness.AllAsync())[0].Mime().JoinToken();

        var moved = await Harness.Get<RescheduleAppointment>().HandleAsync(created.Id, new RescheduleAppointmentRequest(Start.AddDays(1), 45));
        Assert.True(moved.IsOk);
        Assert.Equal(Start.AddDays(1), moved.Value!.Start);
        Assert.Equal(Start.AddDays(1).AddMinutes(45), moved.Value.End);

        var old = await Harness.Get<JoinService>().ResolveJoinTokenAsync(oldToken);
        Assert.Equal("link-revoked", old.Decision.Reason);

        var rows = await Harness.AllAsync();
        var rescheduled = rows.Where(r => r.Kind == "rescheduled").ToList();
        Assert.Equal(2, rescheduled.Count);
        // The first emails had not gone out yet: they are discarded, not sent with a dead link.
        Assert.All(rows.Where(r => r.Kind == "scheduled"), r => Assert.NotNull(r.DiscardedAt));
        var fresh = await Harness.Get<JoinService>().ResolveJoinTokenAsync(rescheduled[0].Mime().JoinToken());
        Assert.True(fresh.Decision.Allowed);
        Assert.Equal(Start.AddDays(1), fresh.Appointment!.Start);
        Assert.Contains("Friday, 6 March 2026, 15:00", rescheduled[0].Mime().TextBody);
        Assert.Contains("has moved from Thursday, 5 March 2026, 15:00", rescheduled[0].Mime().TextBody);

        Assert.Equal(ResultStatus.NotFound, (await Harness.Get<RescheduleAppointment>().HandleAsync(Guid.NewGuid(), new RescheduleAppointmentRequest(Start, 30))).Status);
    }

    [DbFact]
    public async Task Cancel_revokes_links_and_refuses_joins_with_cancelled()
    {
        var seed = await Harness.SeedAsync();
        var created = (await CreateAsync(seed)).Unwrap();
        var token = (await Harness.AllAsync())[0].Mime().JoinToken();

        Assert.True((await Harness.Get<CancelAppointment>().HandleAsync(created.Id)).IsOk);

        // The contacts who were sent the link (R6: the primary and each email-reminder contact) are told, without a link.
        var rows = await Harness.AllAsync();
        var scheduledTo = rows.Where(r => r.Kind == "scheduled").Select(r => r.Recipient).Order().ToList();
        var cancelled = rows.Where(r => r.Kind == "cancelled").ToList();
        Assert.Equal(scheduledTo, cancelled.Select(r => r.Recipient).Order());
        Assert.All(cancelled, r => Assert.StartsWith("Cancelled: your teletherapy appointment", r.Mime().Subject));
        Assert.All(cancelled, r => Assert.DoesNotContain("/join/", r.Mime().TextBody));
        Assert.All(cancelled, r => Assert.Contains("has been cancelled", r.Mime().HtmlBody));
        Assert.True((await Harness.Get<CancelAppointment>().HandleAsync(created.Id)).IsOk);
        Assert.Equal(cancelled.Count, (await Harness.AllAsync()).Count(r => r.Kind == "cancelled"));
        Harness.Time.SetUtcNow(Start);
        Assert.Equal("cancelled", (await Harness.Get<JoinService>().ResolveJoinTokenAsync(token)).Decision.Reason);
        Assert.Equal("cancelled", (await Harness.Get<JoinService>().CheckTherapistJoinAsync(created.Id, seed.Therapist.Id)).Decision.Reason);
        Assert.Equal(ResultStatus.Invalid, (await Harness.Get<RescheduleAppointment>().HandleAsync(created.Id, new RescheduleAppointmentRequest(Start, 30))).Status);
        Assert.Equal(ResultStatus.NotFound, (await Harness.Get<CancelAppointment>().HandleAsync(Guid.NewGuid())).Status);
    }

    [DbFact]
    public async Task Ending_the_session_refuses_therapists_and_links_with_ended_and_is_audited()
    {
        var seed = await Harness.SeedAsync();
        var created = (await CreateAsync(seed)).Unwrap();
        var token = (await Harness.AllAsync())[0].Mime().JoinToken();
        Harness.Time.SetUtcNow(Start);
        Assert.True((await Harness.Get<JoinService>().CheckTherapistJoinAsync(created.Id, seed.Therapist.Id)).Decision.Allowed);

        Assert.True(await Harness.Get<EndSession>().HandleAsync(created.Id, AuditActor.Staff(seed.Therapist.Id)));
        Assert.True(await Harness.Get<EndSession>().HandleAsync(created.Id, AuditActor.Staff(seed.Therapist.Id)));

        Assert.Equal("ended", (await Harness.Get<JoinService>().ResolveJoinTokenAsync(token)).Decision.Reason);
        Assert.Equal("ended", (await Harness.Get<JoinService>().CheckTherapistJoinAsync(created.Id, seed.Therapist.Id)).Decision.Reason);
        var events = await Harness.Get<AuditLog>().ListAsync(created.Id);
        Assert.Single(events, e => e.Kind == AuditKinds.Ended);
        Assert.False(await Harness.Get<EndSession>().HandleAsync(Guid.NewGuid(), AuditActor.System));
    }

    [DbFact]
    public async Task Therapist_join_boundaries_are_enforced_and_refusals_audited()
    {
        var seed = await Harness.SeedAsync();
        var created = (await CreateAsync(seed)).Unwrap();
        var join = Harness.Get<JoinService>();

        Harness.Time.SetUtcNow(Start - TimeSpan.FromSeconds(601));
        Assert.Equal("too-early", (await join.CheckTherapistJoinAsync(created.Id, seed.Therapist.Id)).Decision.Reason);
        Harness.Time.SetUtcNow(Start - TimeSpan.FromMinutes(10));
        var allowed = await join.CheckTherapistJoinAsync(created.Id, seed.Therapist.Id);
        Assert.True(allowed.Decision.Allowed);
        Assert.Equal([seed.Therapist.Id], allowed.Appointment!.TherapistIds);
        var colleague = (await Harness.Get<StaffAccounts>().AddAsync(new AddStaffRequest("Dr. Colleague", "colleague@clinic.example", "password1"))).Unwrap();
        Assert.Equal("not-listed", (await join.CheckTherapistJoinAsync(created.Id, colleague.Id)).Decision.Reason);

        // The account is read on every join: made scheduler, or deactivated, a listed therapist joins nothing.
        var staff = Harness.Get<StaffAccounts>();
        (await staff.UpdateAsync(seed.Therapist.Id, new UpdateStaffRequest(Role: StaffRoles.Scheduler))).Unwrap();
        Assert.Equal("forbidden", (await join.CheckTherapistJoinAsync(created.Id, seed.Therapist.Id)).Decision.Reason);
        (await staff.UpdateAsync(seed.Therapist.Id, new UpdateStaffRequest(Role: StaffRoles.Therapist, Active: false))).Unwrap();
        Assert.Equal("forbidden", (await join.CheckTherapistJoinAsync(created.Id, seed.Therapist.Id)).Decision.Reason);
        Assert.Equal("forbidden", (await join.CheckTherapistJoinAsync(created.Id, Guid.NewGuid())).Decision.Reason);
        (await staff.UpdateAsync(seed.Therapist.Id, new UpdateStaffRequest(Active: true))).Unwrap();
        Harness.Time.SetUtcNow(Start.AddMinutes(50) + JoinPolicy.GracePeriod);
        Assert.Equal("ended", (await join.CheckTherapistJoinAsync(created.Id, seed.Therapist.Id)).Decision.Reason);
        Assert.Equal("not-found", (await join.CheckTherapistJoinAsync(Guid.NewGuid(), seed.Therapist.Id)).Decision.Reason);

        var audit = await Harness.Get<AuditLog>().ListAsync(created.Id);
        Assert.Equal(["too-early", "not-listed", "forbidden", "forbidden", "forbidden", "ended"], audit.Where(e => e.Kind == AuditKinds.JoinRefused).Select(e => e.Reason));
    }

    [DbFact]
    public async Task Join_link_before_opening_waits_and_expires_after_end_plus_grace()
    {
        var seed = await Harness.SeedAsync();
        (await CreateAsync(seed)).Unwrap();
        var token = (await Harness.AllAsync())[0].Mime().JoinToken();
        var join = Harness.Get<JoinService>();

        Harness.Time.SetUtcNow(Start - TimeSpan.FromSeconds(601));
        var early = await join.ResolveJoinTokenAsync(token);
        Assert.True(early.Decision.Allowed);
        Assert.False(early.RoomOpen);
        Assert.Equal(Start.AddMinutes(-10), early.Appointment!.OpensAt);
        Assert.Equal("patient", early.Contact!.Role);

        Harness.Time.SetUtcNow(Start - TimeSpan.FromMinutes(10));
        Assert.True((await join.ResolveJoinTokenAsync(token)).RoomOpen);

        Harness.Time.SetUtcNow(Start.AddMinutes(50) + JoinPolicy.GracePeriod - TimeSpan.FromSeconds(1));
        Assert.True((await join.ResolveJoinTokenAsync(token)).Decision.Allowed);
        Harness.Time.SetUtcNow(Start.AddMinutes(50) + JoinPolicy.GracePeriod);
        Assert.Equal("link-expired", (await join.ResolveJoinTokenAsync(token)).Decision.Reason);
        Assert.Equal("not-found", (await join.ResolveJoinTokenAsync("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).Decision.Reason);
        Assert.Equal("not-found", (await join.ResolveJoinTokenAsync("../etc")).Decision.Reason);
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class AppointmentTestsOnSqlite() : AppointmentTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class AppointmentTestsOnPostgres() : AppointmentTests(SqlDialect.Postgres);
