using System.Data;
using System.Globalization;
using Dapper;
using Npgsql;

namespace Teletherapy.Scheduling.Data;

/// <summary>
/// Every SQL difference between SQLite and PostgreSQL outside the migrations lives here: how ids and times are
/// written as parameters and read back, and the row-locking clause of the outbox claim.
/// </summary>
/// <remarks>
/// SQLite stores times as UTC text in one fixed-width format so that comparing text compares times, and ids as
/// lower-case GUID text. PostgreSQL uses <c>timestamptz</c> and <c>uuid</c>. The Dapper handlers below pick the
/// representation from the parameter type, so the use-case SQL is the same for both.
/// </remarks>
internal static class SqlDialects
{
    private const string SqliteTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
    private static int _configured;

    /// <summary>Row-lock clause for a claim query: PostgreSQL skips rows another node holds; SQLite has one writer at a time.</summary>
    public static string SkipLocked(this SqlDialect dialect) => dialect == SqlDialect.Postgres ? "FOR UPDATE SKIP LOCKED" : string.Empty;

    /// <summary>Registers the id and time handlers once per process.</summary>
    public static void ConfigureDapper()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1)
        {
            return;
        }

        DefaultTypeMap.MatchNamesWithUnderscores = true;
        SqlMapper.RemoveTypeMap(typeof(Guid));
        SqlMapper.RemoveTypeMap(typeof(Guid?));
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset));
        SqlMapper.RemoveTypeMap(typeof(DateTimeOffset?));
        SqlMapper.AddTypeHandler(new GuidHandler());
        SqlMapper.AddTypeHandler(new TimeHandler());
    }

    /// <summary>The SQLite text form of a time (also used where a time must be compared as text).</summary>
    public static string ToSqliteText(DateTimeOffset value) => value.UtcDateTime.ToString(SqliteTimeFormat, CultureInfo.InvariantCulture);

    private sealed class GuidHandler : SqlMapper.TypeHandler<Guid>
    {
        public override void SetValue(IDbDataParameter parameter, Guid value)
        {
            if (parameter is NpgsqlParameter)
            {
                parameter.Value = value;
            }
            else
            {
                parameter.DbType = DbType.String;
                parameter.Value = value.ToString("D");
            }
        }

        public override Guid Parse(object value) => value switch
        {
            Guid guid => guid,
            string text => Guid.Parse(text),
            byte[] bytes => new Guid(bytes),
            _ => throw new DataException($"Cannot read a GUID from {value.GetType().Name}."),
        };
    }

    private sealed class TimeHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value)
        {
            if (parameter is NpgsqlParameter)
            {
                parameter.Value = value.UtcDateTime;
            }
            else
            {
                parameter.DbType = DbType.String;
                parameter.Value = ToSqliteText(value);
            }
        }

        public override DateTimeOffset Parse(object value) => value switch
        {
            DateTimeOffset offset => offset.ToUniversalTime(),
            DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
            string text => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
            _ => throw new DataException($"Cannot read a time from {value.GetType().Name}."),
        };
    }
}
