using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Outbox;
using Teletherapy.Scheduling.Reminders;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Reminders;

public abstract class ReminderTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private static readonly DateTimeOffset Start = SchedulingHarness.T0.AddDays(3);

    private async Task<(Seed Seed, Guid AppointmentId)> ArrangeAsync(bool remindersEnabled)
    {
        var seed = await Harness.SeedAsync(remindersEnabled);
        var created = (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50))).Unwrap();
        return (seed, created.Id);
    }

    private async Task<List<OutboxRow>> RemindersAsync() => (await Harness.AllAsync()).Where(r => r.Kind == "reminder").ToList();

    [DbFact]
    public async Task R8_feature_off_sends_no_reminders()
    {
        await ArrangeAsync(remindersEnabled: false);
        Harness.Time.SetUtcNow(Start.AddHours(-23));
        Assert.Equal(0, await Harness.Get<ReminderScheduler>().RunOnceAsync(CancellationToken.None));
        Assert.Empty(await RemindersAsync());
    }

    [DbFact]
    public async Task R8_R9_feature_on_each_contact_gets_what_they_chose_and_sms_has_no_link()
    {
        var (seed, appointmentId) = await ArrangeAsync(remindersEnabled: true);
        var scheduler = Harness.Get<ReminderScheduler>();

        Harness.Time.SetUtcNow(Start - JoinPolicy.ReminderLeadTime - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await scheduler.RunOnceAsync(CancellationToken.None));

        Harness.Time.SetUtcNow(Start - JoinPolicy.ReminderLeadTime);
        Assert.Equal(2, await scheduler.RunOnceAsync(CancellationToken.None));
        var reminders = await RemindersAsync();
        var email = Assert.Single(reminders, r => r.Channel == "email");
        Assert.Equal(seed.EmailReminderContact.Email, email.Recipient);
        Assert.Contains("Join the session", email.Mime().HtmlBody);
        var check = await Harness.Get<JoinService>().ResolveJoinTokenAsync(email.Mime().JoinToken());
        Assert.Equal(appointmentId, check.Appointment!.Id);
        Assert.Equal(seed.EmailReminderContact.Id, check.Contact!.Id);

        var sms = Assert.Single(reminders, r => r.Channel == "sms");
        Assert.Equal(seed.SmsReminderContact.Phone, sms.Recipient);
        Assert.True(JoinPolicy.IsFreeOfLinks(sms.Payload), sms.Payload);
        Assert.Contains("Lindenhof Praxis", sms.Payload);

        // The primary (no reminders) and the silent contact get none; a second pass queues nothing new.
        Assert.DoesNotContain(reminders, r => r.Recipient == seed.Primary.Email || r.Recipient == seed.SilentContact.Email);
        Assert.Equal(0, await scheduler.RunOnceAsync(CancellationToken.None));
        Assert.Equal(2, (await RemindersAsync()).Count);
    }

    [DbFact]
    public async Task Missed_reminders_are_caught_up_after_downtime_until_the_start()
    {
        await ArrangeAsync(remindersEnabled: true);
        Harness.Time.SetUtcNow(Start.AddMinutes(-30)); // the server was down from before start − 24 h until now
        Assert.Equal(2, await Harness.Get<ReminderScheduler>().RunOnceAsync(CancellationToken.None));
    }

    [DbFact]
    public async Task No_reminder_once_the_appointment_has_started_and_a_late_one_is_discarded()
    {
        var (seed, _) = await ArrangeAsync(remindersEnabled: true);
        Harness.Time.SetUtcNow(Start);
        Assert.Equal(0, await Harness.Get<ReminderScheduler>().RunOnceAsync(CancellationToken.None));

        // A reminder queued but not delivered before its appointment starts is discarded, not sent late.
        var later = Start.AddHours(2);
        (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], later, 50))).Unwrap();
        Assert.Equal(2, await Harness.Get<ReminderScheduler>().RunOnceAsync(CancellationToken.None));
        Harness.Time.SetUtcNow(later);
        await Harness.Get<OutboxSender>().RunOnceAsync(CancellationToken.None);
        var reminders = await RemindersAsync();
        Assert.Equal(2, reminders.Count);
        Assert.All(reminders, r => Assert.NotNull(r.DiscardedAt));
        Assert.All(reminders, r => Assert.Null(r.SentAt));
    }

    [DbFact]
    public async Task Reschedule_leads_to_a_new_reminder_for_the_new_time()
    {
        var (_, appointmentId) = await ArrangeAsync(remindersEnabled: true);
        Harness.Time.SetUtcNow(Start.AddHours(-2));
        Assert.Equal(2, await Harness.Get<ReminderScheduler>().RunOnceAsync(CancellationToken.None));
        (await Harness.Get<RescheduleAppointment>().HandleAsync(appointmentId, new RescheduleAppointmentRequest(Start.AddHours(3), 50))).Unwrap();
        Assert.Equal(2, await Harness.Get<ReminderScheduler>().RunOnceAsync(CancellationToken.None));
        var reminders = await RemindersAsync();
        Assert.Equal(4, reminders.Count);
        Assert.Equal(2, reminders.Count(r => r.DiscardedAt is not null));
    }

    [DbFact]
    public async Task Concurrent_schedulers_queue_each_reminder_once()
    {
        await ArrangeAsync(remindersEnabled: true);
        Harness.Time.SetUtcNow(Start.AddHours(-1));
        var scheduler = Harness.Get<ReminderScheduler>();
        var counts = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => scheduler.RunOnceAsync(CancellationToken.None))));
        Assert.Equal(2, counts.Sum());
        Assert.Equal(2, (await RemindersAsync()).Count);
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class ReminderTestsOnSqlite() : ReminderTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class ReminderTestsOnPostgres() : ReminderTests(SqlDialect.Postgres);
