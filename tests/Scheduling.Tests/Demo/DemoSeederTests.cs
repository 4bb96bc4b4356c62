using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Demo;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Demo;

public abstract class DemoSeederTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    [DbFact]
    public async Task Demo_keeps_a_joinable_appointment_and_replaces_it_when_it_has_passed()
    {
        var seeder = Harness.Get<DemoSeeder>();
        var first = (await seeder.EnsureAsync(null))!;
        Assert.Equal("therapist@demo.clinic", first.TherapistEmail);
        Assert.StartsWith("https://clinic.example/join/", first.PatientJoinUrl);
        var check = await Harness.Get<JoinService>().ResolveJoinTokenAsync(first.PatientJoinUrl[(first.PatientJoinUrl.LastIndexOf('/') + 1)..]);
        Assert.True(check.RoomOpen);
        Assert.Equal(first.AppointmentId, check.Appointment!.Id);
        Assert.Equal("patient", check.Contact!.Role);
        Assert.Equal(2, (await Harness.AllAsync()).Count); // the patient and the caregiver with email reminders

        Harness.Time.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(first, await seeder.EnsureAsync(first));
        Assert.Equal(1L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM appointments"));

        Harness.Time.Advance(TimeSpan.FromHours(1));
        var second = (await seeder.EnsureAsync(first))!;
        Assert.NotEqual(first.AppointmentId, second.AppointmentId);
        // One account of each role, created once.
        Assert.Equal(3L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM staff"));
        Assert.Equal(new[] { "admin", "scheduler", "therapist" }, (await Harness.Get<Teletherapy.Scheduling.Staff.StaffAccounts>().ListAsync()).Select(s => s.Role).Order());
        Assert.Equal(1L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM patients"));
        Assert.NotNull(await Harness.Get<Teletherapy.Scheduling.Staff.StaffAccounts>().VerifyPasswordAsync(second.TherapistEmail, second.TherapistPassword));
    }

    [DbFact]
    public async Task Demo_passwords_are_random_per_installation_and_kept_while_demo_json_is()
    {
        var first = (await Harness.Get<DemoSeeder>().EnsureAsync(null))!;
        string[] passwords = [first.TherapistPassword, first.AdminPassword, first.SchedulerPassword];
        Assert.All(passwords, p => Assert.Equal(16, p.Length));
        Assert.Equal(3, passwords.Distinct().Count());
        Assert.DoesNotContain(passwords, p => p.StartsWith("demo-", StringComparison.Ordinal));
        Assert.NotEqual(DemoSeeder.NewPassword(), DemoSeeder.NewPassword());

        var again = (await Harness.Get<DemoSeeder>().EnsureAsync(first))!;
        Assert.Equal(first.AdminPassword, again.AdminPassword);
        var accounts = Harness.Get<StaffAccounts>();
        Assert.NotNull(await accounts.VerifyPasswordAsync(first.AdminEmail, first.AdminPassword));
        Assert.NotNull(await accounts.VerifyPasswordAsync(first.SchedulerEmail, first.SchedulerPassword));
    }

    [DbFact]
    public async Task A_lost_demo_json_or_a_published_password_gets_new_passwords()
    {
        var seeder = Harness.Get<DemoSeeder>();
        var first = (await seeder.EnsureAsync(null))!;
        var accounts = Harness.Get<StaffAccounts>();

        var lost = (await seeder.EnsureAsync(null))!;
        Assert.NotEqual(first.TherapistPassword, lost.TherapistPassword);
        Assert.Null(await accounts.VerifyPasswordAsync(first.TherapistEmail, first.TherapistPassword));
        Assert.NotNull(await accounts.VerifyPasswordAsync(lost.TherapistEmail, lost.TherapistPassword));

        // An installation that still signs in with the password earlier versions published.
        var therapist = (await accounts.FindAsync((await accounts.ListAsync()).Single(s => s.Email == DemoSeeder.TherapistEmail).Id))!;
        (await accounts.SetPasswordAsync(therapist.Id, "demo-therapist")).Unwrap();
        var replaced = (await seeder.EnsureAsync(lost with { TherapistPassword = "demo-therapist" }))!;
        Assert.NotEqual("demo-therapist", replaced.TherapistPassword);
        Assert.Null(await accounts.VerifyPasswordAsync(DemoSeeder.TherapistEmail, "demo-therapist"));
        Assert.Equal(3L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM staff"));
    }

    [DbFact]
    public async Task The_demo_is_never_added_to_an_installation_with_real_data()
    {
        await Harness.SeedAsync();
        var staff = await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM staff");
        var patients = await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM patients");
        var appointments = await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM appointments");

        Assert.Null(await Harness.Get<DemoSeeder>().EnsureAsync(null));

        Assert.Equal(staff, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM staff"));
        Assert.Equal(patients, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM patients"));
        Assert.Equal(appointments, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM appointments"));
        Assert.Equal(0L, await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM staff WHERE email LIKE '%@demo.clinic'"));
    }

    [DbFact]
    public async Task A_real_account_added_beside_the_demo_stops_further_demo_changes()
    {
        var seeder = Harness.Get<DemoSeeder>();
        var first = (await seeder.EnsureAsync(null))!;
        var clinicAdmin = (await Harness.Get<StaffAccounts>().AddAsync(new AddStaffRequest("Real Admin", "office@praxis.example", "a long password", StaffRoles.Admin))).Unwrap();
        Assert.NotEqual(Guid.Empty, clinicAdmin.Id);

        Assert.Null(await seeder.EnsureAsync(null));
        Assert.NotNull(await Harness.Get<StaffAccounts>().VerifyPasswordAsync(first.AdminEmail, first.AdminPassword));
    }

    [DbFact]
    public async Task Key_ring_documents_are_stored_once_and_read_back_in_order()
    {
        var store = Harness.Get<KeyRingStore>();
        Assert.Empty(await store.ReadAllAsync());
        await store.StoreAsync("key-a", "<key id=\"a\" />");
        Harness.Time.Advance(TimeSpan.FromSeconds(1));
        await store.StoreAsync("key-b", "<key id=\"b\" />");
        await store.StoreAsync("key-a", "<key id=\"changed\" />");

        Assert.Equal(["<key id=\"a\" />", "<key id=\"b\" />"], await store.ReadAllAsync());
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class DemoSeederTestsOnSqlite() : DemoSeederTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class DemoSeederTestsOnPostgres() : DemoSeederTests(SqlDialect.Postgres);
