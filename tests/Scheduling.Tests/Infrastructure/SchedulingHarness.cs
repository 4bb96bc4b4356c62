using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Tests.Infrastructure;

/// <summary>
/// Scheduling wired as the server wires it, on its own database (a temporary SQLite file, or a fresh PostgreSQL database
/// <c>t_&lt;guid&gt;</c>), with a <see cref="FakeTimeProvider"/> and the outbox folder in a temporary directory.
/// </summary>
public sealed class SchedulingHarness : IAsyncDisposable
{
    /// <summary>Monday 2 March 2026, 08:00 UTC.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);

    private readonly string? _databaseName;
    private readonly string? _adminConnectionString;

    private SchedulingHarness(SqlDialect dialect, string dataPath, ServiceProvider services, FakeTimeProvider time, string? databaseName, string? adminConnectionString)
    {
        Dialect = dialect;
        DataPath = dataPath;
        Services = services;
        Time = time;
        _databaseName = databaseName;
        _adminConnectionString = adminConnectionString;
    }

    public SqlDialect Dialect { get; }

    public string DataPath { get; }

    public string OutboxFolder => Path.Combine(DataPath, "outbox");

    public ServiceProvider Services { get; }

    public FakeTimeProvider Time { get; }

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public static async Task<SchedulingHarness> CreateAsync(SqlDialect dialect, Action<IServiceCollection>? configure = null)
    {
        var dataPath = Path.Combine(Path.GetTempPath(), "teletherapy-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataPath);
        string? databaseName = null;
        string? admin = null;
        string? connectionString = null;
        if (dialect == SqlDialect.Postgres)
        {
            admin = PostgresTestServer.RequireConnectionString();
            databaseName = $"t_{Guid.NewGuid():N}";
            await using (var connection = new NpgsqlConnection(admin))
            {
                await connection.OpenAsync();
                await connection.ExecuteAsync($"CREATE DATABASE {databaseName}");
            }

            connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = databaseName }.ConnectionString;
        }

        var time = new FakeTimeProvider(T0);
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(time);
        services.AddScheduling(new SchedulingOptions { DataPath = dataPath, PostgresConnectionString = connectionString });
        services.Configure<NotificationOptions>(o => o.PublicBaseUrl = "https://clinic.example");
        configure?.Invoke(services);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<MigrationRunner>().ApplyAsync();
        return new SchedulingHarness(dialect, dataPath, provider, time, databaseName, admin);
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Get<Database>().OpenAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Get<Database>().OpenAsync();
        return (await connection.QueryAsync<T>(sql, parameters)).ToList();
    }

    /// <summary>A clinic (Europe/Berlin), a therapist and a patient with four contacts covering each preference.</summary>
    public async Task<Seed> SeedAsync(bool remindersEnabled = true)
    {
        var clinic = (await Get<ClinicSettings>().SaveDefaultAsync(new SaveClinicRequest("Lindenhof Praxis", "Europe/Berlin", remindersEnabled))).Unwrap();
        var therapist = (await Get<StaffAccounts>().AddAsync(new AddStaffRequest("Dr. Ada Weber", $"ada.{Guid.NewGuid():N}@clinic.example", "correct horse"))).Unwrap();
        var patient = (await Get<AddPatient>().HandleAsync(new AddPatientRequest(
            "Mia Keller",
            [
                new ContactInput("Mia Keller", "mia@example.org", null, IsPrimary: true, EmailReminders: false, SmsReminders: false),
                new ContactInput("Tom Keller", "tom@example.org", "+49 170 0000001", IsPrimary: false, EmailReminders: true, SmsReminders: false),
                new ContactInput("Lea Keller", "lea@example.org", "+49 170 0000002", IsPrimary: false, EmailReminders: false, SmsReminders: true),
                new ContactInput("Max Keller", "max@example.org", null, IsPrimary: false, EmailReminders: false, SmsReminders: false),
            ]))).Unwrap();
        return new Seed(clinic, therapist, patient);
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        if (_databaseName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            await connection.ExecuteAsync($"DROP DATABASE IF EXISTS {_databaseName} WITH (FORCE)");
        }

        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on a slow runner is left for the temp cleaner.
        }
    }
}

public sealed record Seed(Clinic Clinic, StaffIdentity Therapist, Patient Patient)
{
    public Contact Primary => Patient.Contacts[0];

    public Contact EmailReminderContact => Patient.Contacts[1];

    public Contact SmsReminderContact => Patient.Contacts[2];

    public Contact SilentContact => Patient.Contacts[3];
}

/// <summary>Base of database test classes: a fresh harness per test for the dialect of the concrete class.</summary>
public abstract class DatabaseTest(SqlDialect dialect) : IAsyncLifetime
{
    private SchedulingHarness? _harness;

    protected SchedulingHarness Harness => _harness ?? throw new InvalidOperationException("Not initialized.");

    protected SqlDialect Dialect => dialect;

    /// <summary>Extra service configuration for this class (e.g. SMTP options).</summary>
    protected virtual void Configure(IServiceCollection services)
    {
    }

    public virtual async Task InitializeAsync() => _harness = await SchedulingHarness.CreateAsync(dialect, Configure);

    public virtual async Task DisposeAsync()
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }
    }
}
