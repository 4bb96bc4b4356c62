using System.Data.Common;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Staff;

/// <summary>Body of <c>POST /api/v1/staff</c>. <see cref="Role"/> is admin, scheduler or therapist (default therapist).</summary>
public sealed record AddStaffRequest(string? Name, string? Email, string? Password, string? Role = null);

/// <summary>Body of <c>PUT /api/v1/staff/{id}</c>: what is given changes, what is left out stays.</summary>
public sealed record UpdateStaffRequest(string? Name = null, string? Role = null, bool? Active = null);

/// <summary>A staff account. Only an active account can sign in.</summary>
public sealed record StaffIdentity(Guid Id, Guid ClinicId, string Name, string Email, string Role = StaffRoles.Therapist, bool Active = true);

/// <summary>A staff member who can be listed on an appointment.</summary>
public sealed record TherapistOption(Guid Id, string Name);

/// <summary>
/// Use cases of staff accounts: add, list, change name/role/active, check a password (ASP.NET Core Identity's
/// password hasher). The installation has one clinic (see <see cref="Clinics.ClinicSettings"/>); every account belongs to it.
/// </summary>
public sealed class StaffAccounts
{
    /// <summary>Shortest password accepted.</summary>
    public const int MinimumPasswordLength = 8;

    private const string Columns = "id, clinic_id, name, email, password_hash, role, active";

    private static readonly PasswordHasher<StaffIdentity> Hasher = new();

    private static readonly StaffIdentity Nobody = new(Guid.Empty, Guid.Empty, "", "");

    // Verifying against this hash when the email is unknown keeps the response time the same as for a wrong password.
    private static readonly Lazy<string> DummyHash = new(() => Hasher.HashPassword(Nobody, Guid.NewGuid().ToString()));

    private readonly Database _database;
    private readonly TimeProvider _time;

    internal StaffAccounts(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>Adds an account on behalf of the system (the security audit names no person).</summary>
    internal Task<Result<StaffIdentity>> AddAsync(AddStaffRequest request, CancellationToken cancellationToken = default) =>
        AddAsync(request, AuditActor.System, cancellationToken);

    /// <summary>Adds an account; <paramref name="by"/> is named in the security audit trail (<c>staff-changed</c>, <c>created</c>).</summary>
    public async Task<Result<StaffIdentity>> AddAsync(AddStaffRequest request, AuditActor by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(by);
        var validation = ValidateNew(request.Name, request.Email, request.Password, request.Role);
        if (validation.HasErrors)
        {
            return Result<StaffIdentity>.Invalid(validation.Errors);
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var clinic = await SchedulingReader.DefaultClinicAsync(connection, transaction).ConfigureAwait(false);
            if (clinic is null)
            {
                return Result<StaffIdentity>.Invalid("clinic", SchedulingReader.MissingClinicMessage);
            }

            var now = _time.GetUtcNow();
            var added = await InsertAsync(connection, transaction, clinic.Id, request.Name!, request.Email!, request.Password!, StaffRoles.Parse(request.Role) ?? StaffRoles.Therapist, now).ConfigureAwait(false);
            if (!added.IsOk)
            {
                return added;
            }

            await SecurityTrail.AppendAsync(
                connection, transaction, SecurityEvent.StaffChanged(by, added.Value!.Id, SecurityActions.Created, $"role={added.Value.Role}"), now).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return added;
        }
    }

    /// <summary>Validates a new account's fields (shared with the first-run setup).</summary>
    internal static Validation ValidateNew(string? name, string? email, string? password, string? role)
    {
        var validation = new Validation();
        validation.Require(!string.IsNullOrWhiteSpace(name) && name.Length <= 200, "name", "The name is required (at most 200 characters).");
        validation.Require(Validation.LooksLikeEmail(email?.Trim()), "email", "A valid email address is required.");
        validation.Require(password is { Length: >= MinimumPasswordLength and <= 200 }, "password", $"The password needs at least {MinimumPasswordLength} characters (at most 200).");
        validation.Require(role is null || StaffRoles.Parse(role) is not null, "role", "The role is admin, scheduler or therapist.");
        return validation;
    }

    /// <summary>Inserts an account inside the caller's transaction; invalid when the email is taken.</summary>
    internal static async Task<Result<StaffIdentity>> InsertAsync(
        DbConnection connection, DbTransaction transaction, Guid clinicId, string name, string email, string password, string role, DateTimeOffset now)
    {
        var normalized = Validation.NormalizeEmail(email)!;
        if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM staff WHERE email = @normalized", new { normalized }, transaction).ConfigureAwait(false) > 0)
        {
            return Result<StaffIdentity>.Invalid("email", "A staff member with this email already exists.");
        }

        var staff = new StaffIdentity(Guid.NewGuid(), clinicId, name.Trim(), normalized, role, Active: true);
        await connection.ExecuteAsync(
            "INSERT INTO staff (id, clinic_id, name, email, password_hash, role, active, created_at) VALUES (@Id, @ClinicId, @Name, @Email, @hash, @Role, @Active, @now)",
            new { staff.Id, staff.ClinicId, staff.Name, staff.Email, hash = Hasher.HashPassword(staff, password), staff.Role, staff.Active, now },
            transaction).ConfigureAwait(false);
        return Result<StaffIdentity>.Ok(staff);
    }

    /// <summary>Every account, by name.</summary>
    public async Task<IReadOnlyList<StaffIdentity>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<StaffRow>($"SELECT {Columns} FROM staff ORDER BY name, id").ConfigureAwait(false);
        return rows.Select(r => r.ToIdentity()).ToList();
    }

    /// <summary>Active accounts that can be listed on an appointment (therapists and admins), by name.</summary>
    public async Task<IReadOnlyList<TherapistOption>> ListTherapistsAsync(CancellationToken cancellationToken = default)
    {
        var all = await ListAsync(cancellationToken).ConfigureAwait(false);
        return all.Where(s => s.Active && StaffRoles.CanBeListed(s.Role)).Select(s => new TherapistOption(s.Id, s.Name)).ToList();
    }

    /// <summary>Changes name, role or active on behalf of the system (the security audit names no person).</summary>
    internal Task<Result<StaffIdentity>> UpdateAsync(Guid id, UpdateStaffRequest request, CancellationToken cancellationToken = default) =>
        UpdateAsync(id, request, AuditActor.System, cancellationToken);

    /// <summary>
    /// Changes name, role or active; <paramref name="by"/> is named in the security audit trail (<c>staff-changed</c>).
    /// Refused when it would leave the clinic without an active admin.
    /// </summary>
    public async Task<Result<StaffIdentity>> UpdateAsync(Guid id, UpdateStaffRequest request, AuditActor by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(by);
        var validation = new Validation();
        validation.Require(request.Name is not null || request.Role is not null || request.Active is not null, "body", "Give the name, the role or active to change.");
        validation.Require(request.Name is null || (!string.IsNullOrWhiteSpace(request.Name) && request.Name.Length <= 200), "name", "The name is required (at most 200 characters).");
        validation.Require(request.Role is null || StaffRoles.Parse(request.Role) is not null, "role", "The role is admin, scheduler or therapist.");
        if (validation.HasErrors)
        {
            return Result<StaffIdentity>.Invalid(validation.Errors);
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var row = await connection.QuerySingleOrDefaultAsync<StaffRow>($"SELECT {Columns} FROM staff WHERE id = @id", new { id }, transaction).ConfigureAwait(false);
            if (row is null)
            {
                return Result<StaffIdentity>.NotFound();
            }

            var updated = row.ToIdentity() with
            {
                Name = request.Name?.Trim() ?? row.Name,
                Role = StaffRoles.Parse(request.Role) ?? row.Role,
                Active = request.Active ?? row.Active,
            };
            var wasActiveAdmin = row.Active && row.Role == StaffRoles.Admin;
            var staysActiveAdmin = updated.Active && updated.Role == StaffRoles.Admin;
            if (wasActiveAdmin && !staysActiveAdmin)
            {
                var admins = await connection.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM staff WHERE role = @admin AND active = @active AND id <> @id",
                    new { admin = StaffRoles.Admin, active = true, id }, transaction).ConfigureAwait(false);
                if (admins == 0)
                {
                    return Result<StaffIdentity>.Invalid(request.Active == false ? "active" : "role", "The clinic needs at least one active admin: make someone else admin first.");
                }
            }

            await connection.ExecuteAsync(
                "UPDATE staff SET name = @Name, role = @Role, active = @Active WHERE id = @Id", updated, transaction).ConfigureAwait(false);
            await SecurityTrail.AppendAsync(connection, transaction, StaffChange(by, row.ToIdentity(), updated), _time.GetUtcNow()).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return Result<StaffIdentity>.Ok(updated);
        }
    }

    /// <summary>The active staff member with this email and password, or null (a deactivated account cannot sign in).</summary>
    public async Task<StaffIdentity?> VerifyPasswordAsync(string? email, string? password, CancellationToken cancellationToken = default)
    {
        var normalized = Validation.NormalizeEmail(email);
        StaffRow? row = null;
        if (normalized is not null && normalized.Length <= 254)
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            row = await connection.QuerySingleOrDefaultAsync<StaffRow>($"SELECT {Columns} FROM staff WHERE email = @normalized", new { normalized }).ConfigureAwait(false);
        }

        if (row is null || string.IsNullOrEmpty(password) || password.Length > 200)
        {
            Hasher.VerifyHashedPassword(Nobody, DummyHash.Value, password is { Length: <= 200 } ? password : string.Empty);
            return null;
        }

        var identity = row.ToIdentity();
        var verified = Hasher.VerifyHashedPassword(identity, row.PasswordHash, password) != PasswordVerificationResult.Failed;
        return verified && identity.Active ? identity : null;
    }

    /// <summary>What an update changed, for the audit trail: field names and the new role, never the name itself.</summary>
    internal static SecurityEvent StaffChange(AuditActor by, StaffIdentity before, StaffIdentity after)
    {
        var changed = new List<string>();
        if (before.Name != after.Name)
        {
            changed.Add("name");
        }

        if (before.Role != after.Role)
        {
            changed.Add("role");
        }

        if (before.Active != after.Active)
        {
            changed.Add("active");
        }

        var action = before.Active == after.Active ? SecurityActions.Updated : after.Active ? SecurityActions.Reactivated : SecurityActions.Deactivated;
        var detail = "changed=" + (changed.Count == 0 ? "none" : string.Join(',', changed)) + (before.Role != after.Role ? $" role={after.Role}" : string.Empty);
        return SecurityEvent.StaffChanged(by, after.Id, action, detail);
    }

    /// <summary>Replaces the account's password on behalf of the system; false when there is no such account.</summary>
    internal Task<Result<bool>> SetPasswordAsync(Guid id, string? password, CancellationToken cancellationToken = default) =>
        SetPasswordAsync(id, password, AuditActor.System, cancellationToken);

    /// <summary>Replaces the account's password (audited as <c>staff-changed</c>, <c>password-changed</c>); false when there is no such account.</summary>
    internal async Task<Result<bool>> SetPasswordAsync(Guid id, string? password, AuditActor by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(by);
        if (password is not { Length: >= MinimumPasswordLength and <= 200 })
        {
            return Result<bool>.Invalid("password", $"The password needs at least {MinimumPasswordLength} characters (at most 200).");
        }

        var staff = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        if (staff is null)
        {
            return Result<bool>.NotFound();
        }

        var hash = Hasher.HashPassword(staff, password);
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            if (await connection.ExecuteAsync("UPDATE staff SET password_hash = @hash WHERE id = @id", new { id, hash }, transaction).ConfigureAwait(false) == 0)
            {
                return Result<bool>.NotFound();
            }

            await SecurityTrail.AppendAsync(
                connection, transaction, SecurityEvent.StaffChanged(by, id, SecurityActions.PasswordChanged), _time.GetUtcNow()).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return Result<bool>.Ok(true);
        }
    }

    /// <summary>The staff member with this id, or null.</summary>
    public async Task<StaffIdentity?> FindAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<StaffRow>($"SELECT {Columns} FROM staff WHERE id = @id", new { id }).ConfigureAwait(false);
        return row?.ToIdentity();
    }

    internal async Task<StaffIdentity?> FindByEmailAsync(string email, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<StaffRow>(
            $"SELECT {Columns} FROM staff WHERE email = @email", new { email = Validation.NormalizeEmail(email) }).ConfigureAwait(false);
        return row?.ToIdentity();
    }

    /// <summary>Whether any staff account exists (the first-run setup is offered only before the first).</summary>
    internal async Task<bool> AnyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM staff").ConfigureAwait(false) > 0;
    }

    private sealed class StaffRow
    {
        public Guid Id { get; set; }

        public Guid ClinicId { get; set; }

        public string Name { get; set; } = "";

        public string Email { get; set; } = "";

        public string PasswordHash { get; set; } = "";

        public string Role { get; set; } = StaffRoles.Therapist;

        public bool Active { get; set; }

        public StaffIdentity ToIdentity() => new(Id, ClinicId, Name, Email, Role, Active);
    }
}
