using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Data;

/// <summary>The stored admission state of session rooms: versions only grow, and nothing is kept long after the room closed.</summary>
public abstract class SessionRoomStateStoreTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private async Task<Guid> AppointmentAsync(Seed seed, DateTimeOffset start) =>
        (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], start, 50))).Unwrap().Id;

    [DbFact]
    public async Task A_saved_state_loads_back_as_written()
    {
        var seed = await Harness.SeedAsync();
        var appointment = await AppointmentAsync(seed, SchedulingHarness.T0.AddHours(1));
        var store = Harness.Get<SessionRoomStateStore>();
        const string State = """{"participants":[{"id":"contact-1","name":"Mia Keller – Ü","state":"admitted"}]}""";

        Assert.Null(await store.LoadAsync(appointment));
        Assert.Null(await store.VersionAsync(appointment));
        Assert.True(await store.SaveAsync(appointment, 3, State));

        Assert.Equal(State, await store.LoadAsync(appointment));
        Assert.Equal(3, await store.VersionAsync(appointment));
        Assert.Null(await store.LoadAsync(Guid.NewGuid()));
    }

    [DbFact]
    public async Task A_lower_or_equal_version_never_overwrites_a_higher_one()
    {
        var seed = await Harness.SeedAsync();
        var appointment = await AppointmentAsync(seed, SchedulingHarness.T0.AddHours(1));
        var store = Harness.Get<SessionRoomStateStore>();

        Assert.True(await store.SaveAsync(appointment, 5, "five"));
        Assert.False(await store.SaveAsync(appointment, 4, "four"));
        Assert.False(await store.SaveAsync(appointment, 5, "five again"));
        Assert.Equal("five", await store.LoadAsync(appointment));

        Assert.True(await store.SaveAsync(appointment, 6, "six"));
        Assert.Equal("six", await store.LoadAsync(appointment));
        Assert.Equal(6, await store.VersionAsync(appointment));
        Assert.Equal(1L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM session_room_states"));
    }

    [DbFact]
    public async Task Delete_forgets_the_state_and_a_new_one_starts_over()
    {
        var seed = await Harness.SeedAsync();
        var appointment = await AppointmentAsync(seed, SchedulingHarness.T0.AddHours(1));
        var other = await AppointmentAsync(seed, SchedulingHarness.T0.AddHours(3));
        var store = Harness.Get<SessionRoomStateStore>();
        await store.SaveAsync(appointment, 9, "nine");
        await store.SaveAsync(other, 2, "other");

        await store.DeleteAsync(appointment);
        await store.DeleteAsync(appointment);

        Assert.Null(await store.LoadAsync(appointment));
        Assert.Equal("other", await store.LoadAsync(other));
        Assert.True(await store.SaveAsync(appointment, 1, "one"));
        Assert.Equal("one", await store.LoadAsync(appointment));
    }

    [DbFact]
    public async Task Prune_deletes_only_the_states_of_rooms_closed_more_than_a_day_ago()
    {
        var seed = await Harness.SeedAsync();
        var t0 = SchedulingHarness.T0;
        var closedLongAgo = await AppointmentAsync(seed, t0.AddHours(1));             // room closes at T0 + 2:50
        var closedRecently = await AppointmentAsync(seed, t0.AddDays(1));             // room closes at T0 + 1 day 1:50
        var cancelled = await AppointmentAsync(seed, t0.AddDays(3));                  // cancelled at T0: its room closed then
        var ended = await AppointmentAsync(seed, t0.AddDays(1).AddHours(2).AddMinutes(55)); // ended 10 minutes before the prune
        var ahead = await AppointmentAsync(seed, t0.AddDays(5));
        var store = Harness.Get<SessionRoomStateStore>();
        foreach (var id in new[] { closedLongAgo, closedRecently, cancelled, ended, ahead })
        {
            await store.SaveAsync(id, 1, "state of " + id);
        }

        Assert.True((await Harness.Get<CancelAppointment>().HandleAsync(cancelled)).IsOk);
        Harness.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(2) + TimeSpan.FromMinutes(55));
        Assert.True(await Harness.Get<EndSession>().HandleAsync(ended, Teletherapy.Scheduling.Audit.AuditActor.System));
        Harness.Time.Advance(TimeSpan.FromMinutes(10)); // now T0 + 1 day 3:05: the first room closed 1 day 0:15 ago

        Assert.Equal(2, await store.PruneAsync());

        Assert.Null(await store.LoadAsync(closedLongAgo));
        Assert.Null(await store.LoadAsync(cancelled));
        Assert.Equal("state of " + closedRecently, await store.LoadAsync(closedRecently));
        Assert.Equal("state of " + ended, await store.LoadAsync(ended));
        Assert.Equal("state of " + ahead, await store.LoadAsync(ahead));
        Assert.Equal(0, await store.PruneAsync());

        Harness.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(2, await store.PruneAsync()); // the recently closed room and the ended session, a day on
        Assert.Equal("state of " + ahead, await store.LoadAsync(ahead));
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class SessionRoomStateStoreTestsOnSqlite() : SessionRoomStateStoreTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class SessionRoomStateStoreTestsOnPostgres() : SessionRoomStateStoreTests(SqlDialect.Postgres);
