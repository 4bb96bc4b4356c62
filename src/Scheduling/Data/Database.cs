using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Teletherapy.Scheduling.Data;

/// <summary>Opens connections to the configured database (PostgreSQL when a connection string is set, else SQLite in the data folder).</summary>
public sealed class Database : IDisposable
{
    private readonly NpgsqlDataSource? _postgres;
    private readonly string? _sqliteConnectionString;

    internal Database(SchedulingOptions options)
    {
        SqlDialects.ConfigureDapper();
        if (!string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            Dialect = SqlDialect.Postgres;
            _postgres = NpgsqlDataSource.Create(options.PostgresConnectionString);
        }
        else
        {
            Dialect = SqlDialect.Sqlite;
            Directory.CreateDirectory(options.DataPath);
            _sqliteConnectionString = new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(options.DataPath, "teletherapy.db"),
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();
        }
    }

    public SqlDialect Dialect { get; }

    internal async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        var connection = new SqliteConnection(_sqliteConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (var pragma = connection.CreateCommand())
        {
            // WAL lets the outbox sender read while a request writes; foreign keys are off by default in SQLite.
            // secure_delete zeroes what a DELETE or UPDATE frees, so an emptied outbox payload (it held live links)
            // does not survive in free pages of the database file.
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; PRAGMA secure_delete=ON;";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return connection;
    }

    /// <summary>True when a trivial query succeeds (used by <c>/healthz</c>).</summary>
    public async Task<bool> IsReachableAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 1;
        }
        catch (DbException)
        {
            ForgetIdleConnections();
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// After a failure that <see cref="IsUnavailable"/> recognises: drops the pooled idle PostgreSQL connections, which
    /// a restarted server no longer knows, so the first requests after it is back open fresh ones instead of failing
    /// on a dead socket each.
    /// </summary>
    public void ForgetIdleConnections() => _postgres?.Clear();

    /// <summary>
    /// Whether <paramref name="exception"/> (or one it wraps) says the database cannot be used right now rather than
    /// that the request was wrong: PostgreSQL cannot be reached, is shutting down or starting up, or a query timed
    /// out; SQLite is busy, out of space or cannot do I/O. Such a failure is answered 503 and tried again later.
    /// </summary>
    public static bool IsUnavailable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case NpgsqlException npgsql when npgsql.IsTransient:
                    return true;
                case NpgsqlException npgsql when npgsql is not PostgresException && npgsql.InnerException is System.Net.Sockets.SocketException or IOException or TimeoutException:
                    return true;
                case PostgresException { SqlState: var state } when state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal):
                    return true;
                case SqliteException { SqliteErrorCode: 5 or 6 or 10 or 13 or 14 }:
                    // BUSY, LOCKED, IOERR, FULL, CANTOPEN
                    return true;
            }
        }

        return false;
    }

    /// <summary>Opens a connection and begins a transaction (SQLite: <c>BEGIN IMMEDIATE</c>, so writers queue instead of failing on upgrade).</summary>
    internal async Task<(DbConnection Connection, DbTransaction Transaction)> BeginAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            return (connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public void Dispose() => _postgres?.Dispose();
}
