using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Teletherapy.Scheduling.Access;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Audit;

/// <summary>
/// Issue #15, audit: the security audit trail records sign-ins, refusals, reads and changes with ids only; its rows
/// cannot be changed or deleted through the application's connection; a change made behind its back (an attacker with
/// database access who disables the trigger) is found by the verification, which names the row.
/// </summary>
public abstract class SecurityAuditTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private SecurityAudit Audit => Harness.Get<SecurityAudit>();

    private async Task<List<SecurityAuditEntry>> AllAsync() =>
        (await Audit.ListAsync(new SecurityAuditQuery(Limit: SecurityAudit.MaxPageSize))).Unwrap().Items.OrderBy(e => e.Id).ToList();

    /// <summary>Runs SQL the way an attacker with database access would: around the append-only trigger.</summary>
    private async Task TamperAsync(string sql, object? parameters = null)
    {
        await using var connection = await Harness.Get<Database>().OpenAsync();
        if (Dialect == SqlDialect.Postgres)
        {
            await connection.ExecuteAsync("ALTER TABLE security_events DISABLE TRIGGER security_events_append_only");
            await connection.ExecuteAsync(sql, parameters);
            await connection.ExecuteAsync("ALTER TABLE security_events ENABLE TRIGGER security_events_append_only");
        }
        else
        {
            await connection.ExecuteAsync("DROP TRIGGER security_events_no_update; DROP TRIGGER security_events_no_delete;");
            await connection.ExecuteAsync(sql, parameters);
        }
    }

    private async Task RecordSignInsAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Audit.RecordAsync(SecurityEvent.SignedIn(Guid.NewGuid()));
            Harness.Time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [DbFact]
    public async Task Appended_events_form_a_chain_that_verifies_and_names_its_head()
    {
        Assert.Equal(new AuditVerification(true, 0, null, null, null, null), await Audit.VerifyAsync());
        var staffId = Guid.NewGuid();
        var first = await Audit.RecordAsync(SecurityEvent.SignedIn(staffId));
        Harness.Time.Advance(TimeSpan.FromTicks(1_234_567)); // sub-microsecond ticks are cut before hashing
        var appointmentId = Guid.NewGuid();
        var read = await Audit.RecordAsync(SecurityEvent.PatientRead(AuditActor.Staff(staffId), Guid.NewGuid(), "emails", appointmentId));
        Assert.Equal(("emails", $"appointment={appointmentId:D}"), (read.Action, read.Detail));
        var last = await Audit.RecordAsync(SecurityEvent.SignedOut(staffId));

        Assert.Equal(1, first.Id);
        Assert.Equal(3, last.Id);
        Assert.Equal(SchedulingHarness.T0, first.At);
        var verification = await Audit.VerifyAsync();
        Assert.True(verification.Intact);
        Assert.Equal(3, verification.CheckedRows);
        Assert.Null(verification.FirstBrokenId);
        Assert.Equal(3, verification.HeadId);
        Assert.Equal(await Harness.ScalarAsync<string>("SELECT hash FROM security_events WHERE id = 3"), verification.HeadHash);
        Assert.Equal(AuditChain.GenesisHash, await Harness.ScalarAsync<string>("SELECT previous_hash FROM security_events WHERE id = 1"));
    }

    [DbFact]
    public async Task Changes_made_by_the_use_cases_are_recorded_with_who_what_kind_and_which_id_in_the_same_transaction()
    {
        var seed = await Harness.SeedAsync(); // clinic, therapist and patient added by the system
        var admin = (await Harness.Get<StaffAccounts>().AddAsync(new AddStaffRequest("Alex Admin", "alex@clinic.example", "correct horse", StaffRoles.Admin))).Unwrap();
        var by = AuditActor.Staff(admin.Id);

        (await Harness.Get<StaffAccounts>().UpdateAsync(seed.Therapist.Id, new UpdateStaffRequest(Name: "Dr. Ada Weber-Lang", Role: StaffRoles.Scheduler), by)).Unwrap();
        (await Harness.Get<StaffAccounts>().UpdateAsync(seed.Therapist.Id, new UpdateStaffRequest(Active: false), by)).Unwrap();
        (await Harness.Get<StaffAccounts>().SetPasswordAsync(admin.Id, "another long password", by)).Unwrap();
        (await Harness.Get<ClinicSettings>().SaveDefaultAsync(new SaveClinicRequest("Lindenhof Praxis Süd", "Europe/Berlin", RemindersEnabled: false), by)).Unwrap();
        var contacts = seed.Patient.Contacts.Take(1).Select(c => (ContactInput?)new ContactInput(c.Name, c.Email, c.Phone, true, false, false, Id: c.Id))
            .Append(new ContactInput("Nina Keller", "nina@example.org", null, false, true, false)).ToList();
        (await Harness.Get<UpdatePatient>().HandleAsync(seed.Patient.Id, new UpdatePatientRequest("Mia Keller-Roth", contacts), by)).Unwrap();
        var added = (await Harness.Get<AddPatient>().HandleAsync(new AddPatientRequest("Paul Roth", [new ContactInput("Paul Roth", "paul@example.org", null, true, false, false)]), by)).Unwrap();

        // A refused change records nothing: the audit row is part of the change's transaction.
        Assert.False((await Harness.Get<StaffAccounts>().UpdateAsync(admin.Id, new UpdateStaffRequest(Active: false), by)).IsOk);

        var entries = await AllAsync();
        string Row(SecurityAuditEntry e) => $"{e.Kind} {e.ActorKind}:{e.ActorId?.ToString() ?? "-"} {e.SubjectKind}:{e.SubjectId?.ToString() ?? "-"} {e.Action} {e.Detail}";
        Assert.Equal(
            [
                $"clinic-changed system:- clinic:{seed.Clinic.Id} created ",
                $"staff-changed system:- staff:{seed.Therapist.Id} created role=therapist",
                $"patient-changed system:- patient:{seed.Patient.Id} created contacts=4",
                $"staff-changed system:- staff:{admin.Id} created role=admin",
                $"staff-changed staff:{admin.Id} staff:{seed.Therapist.Id} updated changed=name,role role=scheduler",
                $"staff-changed staff:{admin.Id} staff:{seed.Therapist.Id} deactivated changed=active",
                $"staff-changed staff:{admin.Id} staff:{admin.Id} password-changed ",
                $"clinic-changed staff:{admin.Id} clinic:{seed.Clinic.Id} updated changed=name,reminders-off",
                $"patient-changed staff:{admin.Id} patient:{seed.Patient.Id} updated contacts-added=1 contacts-removed=3",
                $"patient-changed staff:{admin.Id} patient:{added.Id} created contacts=1",
            ],
            entries.Select(Row));
        Assert.True((await Audit.VerifyAsync()).Intact);

        // Ids only: no name, email or phone number of anybody.
        var stored = JsonSerializer.Serialize(entries);
        foreach (var personal in new[] { "Ada", "Weber", "Mia", "Keller", "Roth", "Nina", "Paul", "Alex", "@", "+49", "Lindenhof" })
        {
            Assert.DoesNotContain(personal, stored, StringComparison.Ordinal);
        }
    }

    [DbFact]
    public async Task First_run_setup_records_the_clinic_and_the_first_admin_as_done_by_that_admin()
    {
        var admin = (await Harness.Get<FirstRunSetup>().HandleAsync(new FirstRunRequest("Praxis am See", "Europe/Berlin", "Sam Setup", "sam@clinic.example", "a long password"))).Unwrap();
        var entries = await AllAsync();
        Assert.Equal([SecurityEventKinds.ClinicChanged, SecurityEventKinds.StaffChanged], entries.Select(e => e.Kind));
        Assert.All(entries, e => Assert.Equal((AuditActorKinds.Staff, admin.Id), (e.ActorKind, e.ActorId!.Value)));
        Assert.Equal(admin.Id, entries[1].SubjectId);
        Assert.Equal("role=admin first-run-setup", entries[1].Detail);
    }

    [DbFact]
    public async Task A_failed_sign_in_names_the_account_or_keeps_only_a_keyed_hash_of_the_address()
    {
        var seed = await Harness.SeedAsync();
        var known = await Audit.RecordAsync(SecurityEvent.SignInFailed($"  {seed.Therapist.Email.ToUpperInvariant()} "));
        Assert.Equal((AuditActorKinds.Anonymous, SecuritySubjects.Staff, seed.Therapist.Id, "invalid-credentials"), (known.ActorKind, known.SubjectKind, known.SubjectId!.Value, known.Reason));
        Assert.Null(known.Detail);

        var stranger = await Audit.RecordAsync(SecurityEvent.SignInFailed("Stranger@Example.org"));
        var again = await Audit.RecordAsync(SecurityEvent.SignInFailed(" stranger@example.org"));
        var other = await Audit.RecordAsync(SecurityEvent.SignInFailed("someone.else@example.org"));
        var locked = await Audit.RecordAsync(SecurityEvent.SignInLocked("stranger@example.org", SchedulingHarness.T0.AddMinutes(15)));
        Assert.Null(stranger.SubjectId);
        Assert.Matches("^email-hmac=[0-9a-f]{32}$", stranger.Detail);
        Assert.Equal(stranger.Detail, again.Detail);
        Assert.NotEqual(stranger.Detail, other.Detail);
        Assert.Equal($"{stranger.Detail} until=2026-03-02T08:15:00Z", locked.Detail);

        // Not a plain hash that anyone could check a guessed address against, and the address itself is nowhere.
        var plain = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("stranger@example.org")));
        Assert.DoesNotContain(plain[..32], stranger.Detail);
        Assert.Empty(await Harness.DatabaseValuesContainingAsync("stranger@example.org"));
        Assert.Empty(await Harness.DatabaseValuesContainingAsync("Stranger@Example.org"));
        Assert.Empty(await Harness.DatabaseValuesContainingAsync("someone.else"));
        Assert.True((await Audit.VerifyAsync()).Intact);
    }

    [DbFact]
    public async Task A_refusal_goes_to_the_access_log_and_to_the_trail()
    {
        var staffId = Guid.NewGuid();
        var patientId = Guid.NewGuid();
        await Harness.Get<AccessLog>().RecordAsync(Caller.Staff(staffId, StaffRoles.Therapist), AccessResources.Patient, patientId, "read", AccessReasons.NotListed);
        await Harness.Get<AccessLog>().RecordAsync(Caller.Integrator, AccessResources.Appointment, null, "book", AccessReasons.Forbidden);

        var listed = await Harness.Get<AccessLog>().ListAsync();
        Assert.Equal([(AccessResources.Appointment, (Guid?)null), (AccessResources.Patient, patientId)], listed.Select(r => (r.ResourceKind, r.ResourceId)));
        var entries = await AllAsync();
        Assert.All(entries, e => Assert.Equal(SecurityEventKinds.AccessRefused, e.Kind));
        Assert.Equal((AuditActorKinds.Staff, (Guid?)staffId, SecuritySubjects.Patient, (Guid?)patientId, "read", AccessReasons.NotListed), (entries[0].ActorKind, entries[0].ActorId, entries[0].SubjectKind, entries[0].SubjectId, entries[0].Action, entries[0].Reason));
        Assert.Equal((AuditActorKinds.Integrator, (Guid?)null, "book", AccessReasons.Forbidden), (entries[1].ActorKind, entries[1].ActorId, entries[1].Action, entries[1].Reason));
    }

    [DbFact]
    public async Task Audit_rows_cannot_be_changed_or_deleted_through_the_applications_connection()
    {
        var seed = await Harness.SeedAsync();
        var created = (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], SchedulingHarness.T0.AddDays(1), 50))).Unwrap();
        await Harness.Get<AuditLog>().AppendAsync(created.Id, AuditKinds.Knocked, AuditActor.Contact(seed.Primary.Id));
        await Harness.Get<AccessLog>().RecordAsync(Caller.Staff(Guid.NewGuid(), StaffRoles.Therapist), AccessResources.Patient, seed.Patient.Id, "read", AccessReasons.NotListed);
        await RecordSignInsAsync(2);

        var statements = new List<string>();
        foreach (var table in new[] { "security_events", "audit_events", "access_refusals" })
        {
            statements.Add($"UPDATE {table} SET at = at WHERE id = (SELECT MIN(id) FROM {table})");
            statements.Add($"UPDATE {table} SET actor_kind = 'system'");
            statements.Add($"DELETE FROM {table} WHERE id = (SELECT MAX(id) FROM {table})");
            statements.Add($"DELETE FROM {table}");
            if (Dialect == SqlDialect.Postgres)
            {
                statements.Add($"TRUNCATE {table}");
            }
        }

        var before = await CountsAsync();
        await using var connection = await Harness.Get<Database>().OpenAsync();
        foreach (var sql in statements)
        {
            var refused = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync(sql));
            Assert.Contains("append-only", refused.Message);
        }

        Assert.Equal(before, await CountsAsync());
        Assert.True((await Audit.VerifyAsync()).Intact);

        async Task<(long, long, long)> CountsAsync() => (
            await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM security_events"),
            await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM audit_events"),
            await Harness.ScalarAsync<long>("SELECT COUNT(*) FROM access_refusals"));
    }

    [DbFact]
    public async Task A_row_changed_behind_the_apps_back_is_reported_by_its_id()
    {
        await RecordSignInsAsync(5);
        await TamperAsync("UPDATE security_events SET actor_id = @someoneElse WHERE id = 3", new { someoneElse = Guid.NewGuid() });

        var verification = await Audit.VerifyAsync();
        Assert.False(verification.Intact);
        Assert.Equal(3, verification.FirstBrokenId);
        Assert.Equal(AuditChain.ContentChanged, verification.Problem);
        Assert.Equal(3, verification.CheckedRows);
    }

    [DbFact]
    public async Task A_row_changed_together_with_its_hash_breaks_the_link_to_the_next_row()
    {
        await RecordSignInsAsync(5);
        var row3 = (await AllAsync())[2];
        var forged = row3 with { ActorId = Guid.NewGuid() };
        var previous = await Harness.ScalarAsync<string>("SELECT previous_hash FROM security_events WHERE id = 3");
        await TamperAsync("UPDATE security_events SET actor_id = @ActorId, hash = @hash WHERE id = 3", new { forged.ActorId, hash = AuditChain.HashOf(forged, previous) });

        var verification = await Audit.VerifyAsync();
        Assert.Equal((false, 4L, AuditChain.ChainBroken), (verification.Intact, verification.FirstBrokenId!.Value, verification.Problem));
    }

    [DbFact]
    public async Task A_deleted_row_is_reported_at_the_row_after_the_gap()
    {
        await RecordSignInsAsync(5);
        await TamperAsync("DELETE FROM security_events WHERE id = 2");

        var verification = await Audit.VerifyAsync();
        Assert.Equal((false, 3L, AuditChain.RowMissing), (verification.Intact, verification.FirstBrokenId!.Value, verification.Problem));
    }

    [DbFact]
    public async Task Concurrent_appends_from_many_tasks_keep_one_unbroken_chain()
    {
        var seed = await Harness.SeedAsync();
        const int Tasks = 8;
        const int EachTask = 25;
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < EachTask; i++)
            {
                // Appends in their own transaction and appends inside a use case's transaction, interleaved.
                if (i % 5 == 4)
                {
                    (await Harness.Get<StaffAccounts>().UpdateAsync(seed.Therapist.Id, new UpdateStaffRequest(Name: $"Therapist {t}.{i}"), AuditActor.Staff(seed.Therapist.Id))).Unwrap();
                }
                else
                {
                    await Audit.RecordAsync(SecurityEvent.PatientRead(AuditActor.Staff(seed.Therapist.Id), seed.Patient.Id));
                }
            }
        })));

        var total = 3 + (Tasks * EachTask); // the seed's clinic, therapist and patient
        var verification = await Audit.VerifyAsync();
        Assert.True(verification.Intact, $"broken at {verification.FirstBrokenId}: {verification.Problem}");
        Assert.Equal(total, verification.CheckedRows);
        Assert.Equal(total, verification.HeadId);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), (await AllAsync()).Select(e => e.Id));
    }

    [DbFact]
    public async Task The_trail_is_listed_newest_first_in_pages_and_filtered_by_kind_and_time()
    {
        var staffId = Guid.NewGuid();
        for (var i = 0; i < 5; i++)
        {
            await Audit.RecordAsync(i % 2 == 0 ? SecurityEvent.SignedIn(staffId) : SecurityEvent.SignInFailed("x@example.org"));
            Harness.Time.Advance(TimeSpan.FromMinutes(10));
        }

        var first = (await Audit.ListAsync(new SecurityAuditQuery(Limit: 2))).Unwrap();
        Assert.Equal([5L, 4L], first.Items.Select(e => e.Id));
        Assert.Equal(4, first.NextBefore);
        var second = (await Audit.ListAsync(new SecurityAuditQuery(Before: first.NextBefore, Limit: 2))).Unwrap();
        Assert.Equal([3L, 2L], second.Items.Select(e => e.Id));
        var last = (await Audit.ListAsync(new SecurityAuditQuery(Before: second.NextBefore, Limit: 2))).Unwrap();
        Assert.Equal([1L], last.Items.Select(e => e.Id));
        Assert.Null(last.NextBefore);

        var failed = (await Audit.ListAsync(new SecurityAuditQuery(Kind: SecurityEventKinds.SignInFailed))).Unwrap();
        Assert.Equal([4L, 2L], failed.Items.Select(e => e.Id));
        var window = (await Audit.ListAsync(new SecurityAuditQuery(From: SchedulingHarness.T0.AddMinutes(10), To: SchedulingHarness.T0.AddMinutes(30)))).Unwrap();
        Assert.Equal([3L, 2L], window.Items.Select(e => e.Id));

        Assert.Equal("kind", Assert.Single((await Audit.ListAsync(new SecurityAuditQuery(Kind: "everything"))).Errors).Field);
        Assert.Equal("limit", Assert.Single((await Audit.ListAsync(new SecurityAuditQuery(Limit: 0))).Errors).Field);
        Assert.Equal("from", Assert.Single((await Audit.ListAsync(new SecurityAuditQuery(From: SchedulingHarness.T0.AddDays(1), To: SchedulingHarness.T0))).Errors).Field);
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class SecurityAuditTestsOnSqlite() : SecurityAuditTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class SecurityAuditTestsOnPostgres() : SecurityAuditTests(SqlDialect.Postgres);
