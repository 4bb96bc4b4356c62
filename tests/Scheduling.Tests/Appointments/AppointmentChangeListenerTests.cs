using Microsoft.Extensions.DependencyInjection;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Calendar;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Appointments;

/// <summary>
/// Cancel and reschedule tell the registered <see cref="IAppointmentChangeListener"/>s (the session hub) after the
/// change is committed, with what they need to act on people already in the room; a failing listener changes nothing.
/// </summary>
public abstract class AppointmentChangeListenerTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private static readonly DateTimeOffset Start = SchedulingHarness.T0.AddDays(3);

    protected override void Configure(IServiceCollection services)
    {
        services.AddSingleton<IAppointmentChangeListener, FailingListener>(); // first, so the next one must still be told
        services.AddSingleton<RecordingListener>();
        services.AddSingleton<IAppointmentChangeListener>(sp => sp.GetRequiredService<RecordingListener>());
    }

    [DbFact]
    public async Task Cancel_tells_the_listeners_once_after_the_commit_and_names_who_cancelled()
    {
        var seed = await Harness.SeedAsync();
        var created = (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50, true))).Unwrap();
        var by = AuditActor.Staff(seed.Therapist.Id);

        Assert.True((await Harness.Get<CancelAppointment>().HandleAsync(created.Id, by)).IsOk);
        Assert.True((await Harness.Get<CancelAppointment>().HandleAsync(created.Id, by)).IsOk); // already cancelled: nobody told again

        var recorder = Harness.Get<RecordingListener>();
        var (change, statusSeen) = Assert.Single(recorder.Cancelled);
        Assert.Equal(new AppointmentCancelled(created.Id, by), change);
        Assert.Equal(AppointmentStatus.Cancelled, statusSeen); // committed before the listener was told
        Assert.Empty(recorder.Rescheduled);
    }

    [DbFact]
    public async Task Reschedule_tells_the_listeners_the_new_time_and_whose_links_were_revoked()
    {
        var seed = await Harness.SeedAsync();
        var created = (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50, true))).Unwrap();
        var linked = await Harness.QueryAsync<Guid>("SELECT DISTINCT contact_id FROM join_links WHERE appointment_id = @id", new { id = created.Id });
        Assert.Equal(2, linked.Count);

        var moved = await Harness.Get<RescheduleAppointment>().HandleAsync(created.Id, new RescheduleAppointmentRequest(Start.AddHours(2), 45), AuditActor.Integrator);
        Assert.True(moved.IsOk);

        var recorder = Harness.Get<RecordingListener>();
        var (change, startSeen) = Assert.Single(recorder.Rescheduled);
        Assert.Equal(created.Id, change.Appointment.Id);
        Assert.Equal(Start.AddHours(2), change.Appointment.Start);
        Assert.Equal(Start.AddHours(2).AddMinutes(45), change.Appointment.End);
        Assert.Equal([seed.Therapist.Id], change.Appointment.TherapistIds);
        Assert.Equal(linked.Order(), change.RevokedLinkContactIds.Order());
        Assert.Equal(AuditActor.Integrator, change.By);
        Assert.Equal(Start.AddHours(2), startSeen); // committed before the listener was told

        // A refused reschedule tells nobody.
        (await Harness.Get<CancelAppointment>().HandleAsync(created.Id)).Unwrap();
        Assert.Equal(ResultStatus.Invalid, (await Harness.Get<RescheduleAppointment>().HandleAsync(created.Id, new RescheduleAppointmentRequest(Start, 30))).Status);
        Assert.Single(recorder.Rescheduled);
        Assert.Equal(AuditActor.System, Assert.Single(recorder.Cancelled).Change.By);
    }

    private sealed class FailingListener : IAppointmentChangeListener
    {
        public Task AppointmentCancelledAsync(AppointmentCancelled change) => throw new InvalidOperationException("listener down");

        public Task AppointmentRescheduledAsync(AppointmentRescheduled change) => throw new InvalidOperationException("listener down");
    }

    /// <summary>Records each change with what the database said about the appointment at that moment.</summary>
    private sealed class RecordingListener(GetCalendar calendar) : IAppointmentChangeListener
    {
        public List<(AppointmentCancelled Change, string? StatusSeen)> Cancelled { get; } = [];

        public List<(AppointmentRescheduled Change, DateTimeOffset? StartSeen)> Rescheduled { get; } = [];

        public async Task AppointmentCancelledAsync(AppointmentCancelled change) =>
            Cancelled.Add((change, (await calendar.FindAsync(change.AppointmentId))?.Status));

        public async Task AppointmentRescheduledAsync(AppointmentRescheduled change) =>
            Rescheduled.Add((change, (await calendar.FindAsync(change.Appointment.Id))?.Start));
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class AppointmentChangeListenerTestsOnSqlite() : AppointmentChangeListenerTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class AppointmentChangeListenerTestsOnPostgres() : AppointmentChangeListenerTests(SqlDialect.Postgres);
