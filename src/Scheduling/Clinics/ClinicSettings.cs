using Dapper;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Email;

namespace Teletherapy.Scheduling.Clinics;

/// <summary>A clinic as the API shows it.</summary>
public sealed record Clinic(Guid Id, string Name, string TimeZone, bool RemindersEnabled);

/// <summary>Body of <c>PUT /api/v1/clinic</c>.</summary>
public sealed record SaveClinicRequest(string? Name, string? TimeZone, bool RemindersEnabled);

/// <summary>
/// Use cases: read and save the clinic (name, time zone, reminders feature). One installation serves one clinic: every
/// staff account, patient and appointment belongs to it.
/// </summary>
public sealed class ClinicSettings
{
    private readonly Database _database;
    private readonly TimeProvider _time;

    internal ClinicSettings(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>The clinic, or null before it is set up.</summary>
    public async Task<Clinic?> GetDefaultAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await SchedulingReader.DefaultClinicAsync(connection, null).ConfigureAwait(false);
        return row is null ? null : ToClinic(row);
    }

    /// <summary>Creates the default clinic or updates it on behalf of the system (the security audit names no person).</summary>
    internal Task<Result<Clinic>> SaveDefaultAsync(SaveClinicRequest request, CancellationToken cancellationToken = default) =>
        SaveDefaultAsync(request, AuditActor.System, cancellationToken);

    /// <summary>Creates the default clinic or updates it; <paramref name="by"/> is named in the security audit trail (<c>clinic-changed</c>).</summary>
    public async Task<Result<Clinic>> SaveDefaultAsync(SaveClinicRequest request, AuditActor by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(by);
        var errors = Validate(request);
        if (errors.HasErrors)
        {
            return Result<Clinic>.Invalid(errors.Errors);
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var existing = await SchedulingReader.DefaultClinicAsync(connection, transaction).ConfigureAwait(false);
            var clinic = new Clinic(existing?.Id ?? Guid.NewGuid(), request.Name!.Trim(), request.TimeZone!.Trim(), request.RemindersEnabled);
            if (existing is null)
            {
                await InsertAsync(connection, transaction, clinic).ConfigureAwait(false);
            }
            else
            {
                await connection.ExecuteAsync(
                    "UPDATE clinics SET name = @Name, time_zone = @TimeZone, reminders_enabled = @RemindersEnabled WHERE id = @Id", clinic, transaction).ConfigureAwait(false);
            }

            var change = existing is null
                ? SecurityEvent.ClinicChanged(by, clinic.Id, SecurityActions.Created)
                : SecurityEvent.ClinicChanged(by, clinic.Id, SecurityActions.Updated, ChangedFields(ToClinic(existing), clinic));
            await SecurityTrail.AppendAsync(connection, transaction, change, _time.GetUtcNow()).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return Result<Clinic>.Ok(clinic);
        }
    }

    internal Task<int> InsertAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, Clinic clinic) =>
        connection.ExecuteAsync(
            "INSERT INTO clinics (id, name, time_zone, reminders_enabled, created_at) VALUES (@Id, @Name, @TimeZone, @RemindersEnabled, @now)",
            new { clinic.Id, clinic.Name, clinic.TimeZone, clinic.RemindersEnabled, now = _time.GetUtcNow() },
            transaction);

    internal static Validation Validate(SaveClinicRequest request)
    {
        var validation = new Validation();
        validation.Require(!string.IsNullOrWhiteSpace(request.Name) && request.Name.Length <= 200, "name", "The clinic's name is required (at most 200 characters).");
        validation.Require(ClinicTime.TryFindZone(request.TimeZone, out _), "timeZone", "Unknown time zone; use an IANA id such as Europe/Berlin.");
        return validation;
    }

    /// <summary>Which settings a save changed, for the audit trail (field names only).</summary>
    internal static string ChangedFields(Clinic before, Clinic after)
    {
        var changed = new List<string>();
        if (before.Name != after.Name)
        {
            changed.Add("name");
        }

        if (before.TimeZone != after.TimeZone)
        {
            changed.Add("time-zone");
        }

        if (before.RemindersEnabled != after.RemindersEnabled)
        {
            changed.Add(after.RemindersEnabled ? "reminders-on" : "reminders-off");
        }

        return "changed=" + (changed.Count == 0 ? "none" : string.Join(',', changed));
    }

    internal static Clinic ToClinic(ClinicRow row) => new(row.Id, row.Name, row.TimeZone, row.RemindersEnabled);
}
