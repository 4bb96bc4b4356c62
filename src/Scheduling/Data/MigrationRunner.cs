using System.Data.Common;
using System.Reflection;
using Dapper;
using Microsoft.Extensions.Logging;

namespace Teletherapy.Scheduling.Data;

/// <summary>
/// Applies the numbered SQL files embedded under <c>Data/Migrations/{sqlite|postgres}/NNNN_name.sql</c>
/// in order, each in its own transaction, recording each in <c>schema_migrations</c>. On PostgreSQL an
/// advisory lock keeps two starting processes from migrating at once.
/// </summary>
internal sealed partial class MigrationRunner
{
    private const long PostgresLockKey = 0x7e1e7e1e;
    private readonly Database _database;
    private readonly ILogger<MigrationRunner> _logger;

    public MigrationRunner(Database database, ILogger<MigrationRunner> logger)
    {
        _database = database;
        _logger = logger;
    }

    /// <summary>The migrations for this dialect, ordered by number.</summary>
    public IReadOnlyList<(int Version, string Name, string Sql)> Migrations()
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var folder = _database.Dialect == SqlDialect.Postgres ? "postgres" : "sqlite";
        var prefix = $"{assembly.GetName().Name}.Data.Migrations.{folder}.";
        var list = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[prefix.Length..^4];
            // Embedded resource names of files starting with a digit get a leading underscore.
            var digits = name.TrimStart('_');
            var underscore = digits.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(digits[..underscore], out var version))
            {
                throw new InvalidOperationException($"Migration resource '{resource}' is not named NNNN_name.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            list.Add((version, digits[(underscore + 1)..], reader.ReadToEnd()));
        }

        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        for (var i = 1; i < list.Count; i++)
        {
            if (list[i].Item1 == list[i - 1].Item1)
            {
                throw new InvalidOperationException($"Two migrations share version {list[i].Item1}.");
            }
        }

        return list;
    }

    public async Task<int> ApplyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (_database.Dialect == SqlDialect.Postgres)
        {
            await connection.ExecuteAsync("SELECT pg_advisory_lock(@k)", new { k = PostgresLockKey }).ConfigureAwait(false);
        }

        try
        {
            await connection.ExecuteAsync(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)").ConfigureAwait(false);
            var applied = (await connection.QueryAsync<int>("SELECT version FROM schema_migrations").ConfigureAwait(false)).ToHashSet();
            var count = 0;
            foreach (var (version, name, sql) in Migrations())
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                await using DbTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await connection.ExecuteAsync(sql, transaction: transaction).ConfigureAwait(false);
                await connection.ExecuteAsync(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @at)",
                    new { version, name, at = DateTimeOffset.UtcNow.ToString("O") },
                    transaction).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                LogApplied(version, name);
                count++;
            }

            return count;
        }
        finally
        {
            if (_database.Dialect == SqlDialect.Postgres)
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = PostgresLockKey }).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Applied migration {Version} {Name}")]
    private partial void LogApplied(int version, string name);
}
