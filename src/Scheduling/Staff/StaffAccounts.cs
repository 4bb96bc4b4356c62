using Dapper;
using Microsoft.AspNetCore.Identity;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Staff;

/// <summary>Body of <c>POST /api/v1/staff</c>. Without <see cref="ClinicId"/> the staff member joins the default clinic.</summary>
public sealed record AddStaffRequest(string? Name, string? Email, string? Password, Guid? ClinicId = null);

/// <summary>A signed-in staff member.</summary>
public sealed record StaffIdentity(Guid Id, Guid ClinicId, string Name, string Email);

/// <summary>Use cases: add a staff member, check a staff password (ASP.NET Core Identity's password hasher).</summary>
public sealed class StaffAccounts
{
    /// <summary>Shortest password accepted.</summary>
    public const int MinimumPasswordLength = 8;

    private static readonly PasswordHasher<StaffIdentity> Hasher = new();

    // Verifying against this hash when the email is unknown keeps the response time the same as for a wrong password.
    private static readonly Lazy<string> DummyHash = new(() => Hasher.HashPassword(new StaffIdentity(Guid.Empty, Guid.Empty, "", ""), Guid.NewGuid().ToString()));

    private readonly Database _database;
    private readonly TimeProvider _time;

    internal StaffAccounts(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    public async Task<Result<StaffIdentity>> AddAsync(AddStaffRequest request, CancellationToken cancellationToken = default)
    {
        var validation = new Validation();
        validation.Require(!string.IsNullOrWhiteSpace(request.Name) && request.Name.Length <= 200, "name", "The name is required (at most 200 characters).");
        validation.Require(Validation.LooksLikeEmail(request.Email?.Trim()), "email", "A valid email address is required.");
        validation.Require(request.Password is { Length: >= MinimumPasswordLength and <= 200 }, "password", $"The password needs at least {MinimumPasswordLength} characters.");
        if (validation.HasErrors)
        {
            return Result<StaffIdentity>.Invalid(validation.Errors);
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var clinic = await SchedulingReader.ClinicOrDefaultAsync(connection, transaction, request.ClinicId).ConfigureAwait(false);
            if (clinic is null)
            {
                return Result<StaffIdentity>.Invalid("clinicId", SchedulingReader.MissingClinicMessage(request.ClinicId));
            }

            var email = Validation.NormalizeEmail(request.Email)!;
            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM staff WHERE email = @email", new { email }, transaction).ConfigureAwait(false) > 0)
            {
                return Result<StaffIdentity>.Invalid("email", "A staff member with this email already exists.");
            }

            var staff = new StaffIdentity(Guid.NewGuid(), clinic.Id, request.Name!.Trim(), email);
            await connection.ExecuteAsync(
                "INSERT INTO staff (id, clinic_id, name, email, password_hash, created_at) VALUES (@Id, @ClinicId, @Name, @Email, @hash, @now)",
                new { staff.Id, staff.ClinicId, staff.Name, staff.Email, hash = Hasher.HashPassword(staff, request.Password!), now = _time.GetUtcNow() },
                transaction).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return Result<StaffIdentity>.Ok(staff);
        }
    }

    /// <summary>The staff member with this email and password, or null.</summary>
    public async Task<StaffIdentity?> VerifyPasswordAsync(string? email, string? password, CancellationToken cancellationToken = default)
    {
        var normalized = Validation.NormalizeEmail(email);
        StaffRow? row = null;
        if (normalized is not null)
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            row = await connection.QuerySingleOrDefaultAsync<StaffRow>(
                "SELECT id, clinic_id, name, email, password_hash FROM staff WHERE email = @normalized", new { normalized }).ConfigureAwait(false);
        }

        if (row is null || string.IsNullOrEmpty(password))
        {
            Hasher.VerifyHashedPassword(new StaffIdentity(Guid.Empty, Guid.Empty, "", ""), DummyHash.Value, password ?? string.Empty);
            return null;
        }

        var identity = new StaffIdentity(row.Id, row.ClinicId, row.Name, row.Email);
        return Hasher.VerifyHashedPassword(identity, row.PasswordHash, password) == PasswordVerificationResult.Failed ? null : identity;
    }

    /// <summary>The staff member with this id, or null.</summary>
    public async Task<StaffIdentity?> FindAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<StaffRow>(
            "SELECT id, clinic_id, name, email, password_hash FROM staff WHERE id = @id", new { id }).ConfigureAwait(false);
        return row is null ? null : new StaffIdentity(row.Id, row.ClinicId, row.Name, row.Email);
    }

    internal async Task<StaffIdentity?> FindByEmailAsync(string email, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<StaffRow>(
            "SELECT id, clinic_id, name, email, password_hash FROM staff WHERE email = @email", new { email = Validation.NormalizeEmail(email) }).ConfigureAwait(false);
        return row is null ? null : new StaffIdentity(row.Id, row.ClinicId, row.Name, row.Email);
    }

    private sealed class StaffRow
    {
        public Guid Id { get; set; }

        public Guid ClinicId { get; set; }

        public string Name { get; set; } = "";

        public string Email { get; set; } = "";

        public string PasswordHash { get; set; } = "";
    }
}
