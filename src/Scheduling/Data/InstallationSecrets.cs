using System.Data.Common;
using System.Security.Cryptography;
using Dapper;

namespace Teletherapy.Scheduling.Data;

/// <summary>
/// Random keys made once per installation and kept in its database (<c>installation_secrets</c>), shared by every
/// server process of the installation. The first process to need a key creates it; the others read that one.
/// </summary>
internal static class InstallationSecrets
{
    public const int KeyBytes = 32;

    public static async Task<byte[]> GetOrCreateAsync(DbConnection connection, DbTransaction transaction, string name, DateTimeOffset now)
    {
        var value = await connection.QuerySingleOrDefaultAsync<string>(
            "SELECT value FROM installation_secrets WHERE name = @name", new { name }, transaction).ConfigureAwait(false);
        if (value is null)
        {
            await connection.ExecuteAsync(
                "INSERT INTO installation_secrets (name, value, created_at) VALUES (@name, @value, @now) ON CONFLICT (name) DO NOTHING",
                new { name, value = Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes)), now }, transaction).ConfigureAwait(false);
            value = await connection.QuerySingleAsync<string>(
                "SELECT value FROM installation_secrets WHERE name = @name", new { name }, transaction).ConfigureAwait(false);
        }

        return Convert.FromBase64String(value);
    }
}
