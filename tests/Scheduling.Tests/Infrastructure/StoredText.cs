using System.Data.Common;
using System.Text;
using Dapper;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Tests.Infrastructure;

/// <summary>
/// Looks for a secret the way someone holding a copy of the data would: every value of every column of every table
/// (as text), and the raw bytes of every file under the data folder (the SQLite database and its write-ahead log
/// included). A token in an email is not always there in one piece: quoted-printable breaks long lines with <c>=</c>
/// + newline, iCalendar folds lines at 75 octets, and the calendar attachment is base64. So each text is also searched
/// with those breaks taken out, and for the token's base64 forms at each of the three byte alignments.
/// </summary>
public static class StoredText
{
    /// <summary>True when <paramref name="haystack"/> holds <paramref name="token"/> in clear, wrapped, folded or base64-encoded.</summary>
    public static bool HoldsToken(string haystack, string token)
    {
        var noSoftBreaks = haystack.Replace("=\r\n", "", StringComparison.Ordinal).Replace("=\n", "", StringComparison.Ordinal);
        var unfolded = haystack.Replace("\r\n ", "", StringComparison.Ordinal).Replace("\n ", "", StringComparison.Ordinal);
        var oneLine = haystack.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal);
        if (haystack.Contains(token, StringComparison.Ordinal) || noSoftBreaks.Contains(token, StringComparison.Ordinal)
            || unfolded.Contains(token, StringComparison.Ordinal) || oneLine.Contains(token, StringComparison.Ordinal))
        {
            return true;
        }

        return Base64Forms(token).Any(form => oneLine.Contains(form, StringComparison.Ordinal));
    }

    /// <summary>
    /// The base64 text the token's bytes always turn into, whatever bytes stand before and after it: for each alignment
    /// (0, 1 or 2 bytes before it in its group of three), the characters of the groups made of token bytes only.
    /// </summary>
    private static IEnumerable<string> Base64Forms(string token)
    {
        var bytes = Encoding.ASCII.GetBytes(token);
        for (var before = 0; before < 3; before++)
        {
            var padded = new byte[before + bytes.Length];
            bytes.CopyTo(padded, before);
            var encoded = Convert.ToBase64String(padded);
            var firstWhole = before == 0 ? 0 : 4; // the first group mixes in bytes before the token
            var wholeGroups = (padded.Length / 3) - (before == 0 ? 0 : 1);
            yield return encoded.Substring(firstWhole, wholeGroups * 4);
        }
    }

    /// <summary>"table.column" of every stored value that contains <paramref name="needle"/>.</summary>
    public static async Task<List<string>> DatabaseValuesContainingAsync(this SchedulingHarness harness, string needle)
    {
        var found = new List<string>();
        await using var connection = await harness.Get<Database>().OpenAsync();
        var tables = harness.Dialect == SqlDialect.Postgres
            ? await connection.QueryAsync<string>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
            : await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table'");
        foreach (var table in tables.ToList())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\"";
            await using DbDataReader reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var text = reader.IsDBNull(i) ? null : reader.GetValue(i) switch
                    {
                        byte[] bytes => Encoding.UTF8.GetString(bytes),
                        var value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
                    };
                    if (text is not null && HoldsToken(text, needle))
                    {
                        found.Add($"{table}.{reader.GetName(i)}");
                    }
                }
            }
        }

        return found;
    }

    /// <summary>Paths (relative to <paramref name="folder"/>) of the files whose bytes hold <paramref name="needle"/> (see <see cref="HoldsToken"/>).</summary>
    public static List<string> FilesContaining(string folder, string needle)
    {
        var found = new List<string>();
        foreach (var path in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            byte[] bytes;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }

            if (HoldsToken(Encoding.Latin1.GetString(bytes), needle))
            {
                found.Add(Path.GetRelativePath(folder, path));
            }
        }

        return found;
    }
}
