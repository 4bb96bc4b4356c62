using Dapper;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Clinics;

/// <summary>Body of <c>POST /api/v1/setup</c>: the clinic and its first admin.</summary>
public sealed record FirstRunRequest(string? ClinicName, string? TimeZone, string? Name, string? Email, string? Password);

/// <summary>
/// Use case: the one-time setup of a new installation. While no staff account exists, it names the clinic (created
/// or updated) and creates the first admin, in one transaction; once any account exists it is refused for good
/// (<see cref="AlreadySetUp"/>), also when two people try at the same moment.
/// </summary>
public sealed class FirstRunSetup
{
    /// <summary>The reason of the refusal after the first account exists.</summary>
    public const string AlreadySetUp = "already-set-up";

    // Serializes concurrent setups on PostgreSQL (SQLite transactions already take the write lock when they begin).
    private const long PostgresLockKey = 0x7465_6c65_7365_7475;

    private readonly Database _database;
    private readonly ClinicSettings _clinics;
    private readonly TimeProvider _time;

    internal FirstRunSetup(Database database, ClinicSettings clinics, TimeProvider time)
    {
        _database = database;
        _clinics = clinics;
        _time = time;
    }

    /// <summary>Whether the setup page is still offered (no staff account yet).</summary>
    public async Task<bool> IsRequiredAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM staff").ConfigureAwait(false) == 0;
    }

    public async Task<Result<StaffIdentity>> HandleAsync(FirstRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var clinicRequest = new SaveClinicRequest(request.ClinicName, request.TimeZone, RemindersEnabled: false);
        var validation = ClinicSettings.Validate(clinicRequest);
        var errors = validation.Errors.Select(e => e.Field == "name" ? e with { Field = "clinicName" } : e)
            .Concat(StaffAccounts.ValidateNew(request.Name, request.Email, request.Password, StaffRoles.Admin).Errors)
            .ToList();
        if (errors.Count > 0)
        {
            return Result<StaffIdentity>.Invalid(errors);
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            if (_database.Dialect == SqlDialect.Postgres)
            {
                await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@k)", new { k = PostgresLockKey }, transaction).ConfigureAwait(false);
            }

            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM staff", transaction: transaction).ConfigureAwait(false) > 0)
            {
                return Result<StaffIdentity>.Conflict(AlreadySetUp);
            }

            var now = _time.GetUtcNow();
            var existing = await SchedulingReader.DefaultClinicAsync(connection, transaction).ConfigureAwait(false);
            var clinic = new Clinic(existing?.Id ?? Guid.NewGuid(), request.ClinicName!.Trim(), request.TimeZone!.Trim(), existing?.RemindersEnabled ?? false);
            if (existing is null)
            {
                await _clinics.InsertAsync(connection, transaction, clinic).ConfigureAwait(false);
            }
            else
            {
                await connection.ExecuteAsync("UPDATE clinics SET name = @Name, time_zone = @TimeZone WHERE id = @Id", clinic, transaction).ConfigureAwait(false);
            }

            var admin = await StaffAccounts.InsertAsync(connection, transaction, clinic.Id, request.Name!, request.Email!, request.Password!, StaffRoles.Admin, now).ConfigureAwait(false);
            if (!admin.IsOk)
            {
                return admin;
            }

            // Nobody was signed in: the person at the setup page is the admin being created.
            var by = AuditActor.Staff(admin.Value!.Id);
            await SecurityTrail.AppendAsync(
                connection, transaction,
                SecurityEvent.ClinicChanged(by, clinic.Id, existing is null ? SecurityActions.Created : SecurityActions.Updated, "first-run-setup"), now).ConfigureAwait(false);
            await SecurityTrail.AppendAsync(
                connection, transaction,
                SecurityEvent.StaffChanged(by, admin.Value.Id, SecurityActions.Created, $"role={StaffRoles.Admin} first-run-setup"), now).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return admin;
        }
    }
}
