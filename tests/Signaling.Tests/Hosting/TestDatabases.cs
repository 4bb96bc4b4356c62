using Npgsql;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>Fresh databases on the PostgreSQL test cluster that <c>./test.sh</c> starts (<c>TELETHERAPY_TEST_POSTGRES</c>).</summary>
internal static class TestDatabases
{
    /// <summary>Creates an empty database named after <paramref name="prefix"/> and returns its name and the connection string to it.</summary>
    public static async Task<(string Name, NpgsqlConnectionStringBuilder ConnectionString)> CreatePostgresAsync(string prefix)
    {
        var admin = Environment.GetEnvironmentVariable("TELETHERAPY_TEST_POSTGRES");
        Assert.False(string.IsNullOrEmpty(admin), "TELETHERAPY_TEST_POSTGRES is not set: run ./test.sh, which starts a PostgreSQL test cluster.");
        var name = prefix + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }

        return (name, new NpgsqlConnectionStringBuilder(admin) { Database = name });
    }
}
