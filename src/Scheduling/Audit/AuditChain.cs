using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Teletherapy.Scheduling.Audit;

/// <summary>One entry of the security audit trail as stored (ids only) and listed by the API.</summary>
public sealed record SecurityAuditEntry(
    long Id,
    DateTimeOffset At,
    string Kind,
    string ActorKind,
    Guid? ActorId,
    string? SubjectKind,
    Guid? SubjectId,
    string? Action,
    string? Reason,
    string? Detail);

/// <summary>An entry with the two hashes that chain it to the one before.</summary>
internal sealed record ChainedEntry(SecurityAuditEntry Entry, string PreviousHash, string Hash);

/// <summary>What <c>GET /api/v1/audit/verify</c> found.</summary>
/// <param name="Intact">True when every row's hash matches its content and the row before it.</param>
/// <param name="CheckedRows">Rows read (up to and including the first broken one).</param>
/// <param name="FirstBrokenId">The id of the first row that does not check out, or null.</param>
/// <param name="Problem"><c>content-changed</c>, <c>chain-broken</c> or <c>row-missing</c> (see <see cref="AuditChain"/>), or null.</param>
/// <param name="HeadId">The last row's id: note it (with <paramref name="HeadHash"/>) outside the server to detect later removal of the newest rows.</param>
/// <param name="HeadHash">The last row's hash.</param>
public sealed record AuditVerification(bool Intact, long CheckedRows, long? FirstBrokenId, string? Problem, long? HeadId, string? HeadHash);

/// <summary>
/// The hash chain of the security audit trail, as pure functions. Each row stores SHA-256 over its own content and the
/// previous row's hash (the first row chains to <see cref="GenesisHash"/>), and ids run 1, 2, 3… without gaps. So a row
/// changed in place no longer matches its hash (<c>content-changed</c>); a row changed together with its hash, or a row
/// inserted, no longer matches the next row's <c>previous_hash</c> (<c>chain-broken</c>, reported at the next row); a
/// row deleted leaves a gap in the ids (<c>row-missing</c>, reported at the row after the gap).
/// </summary>
/// <remarks>
/// What the chain cannot show by itself is the removal of the newest rows (the tail): the verification returns the
/// head id and hash, which an admin can record elsewhere (a ticket, a printout) and compare later. The canonical form
/// prefixes every field with its length, so no choice of field contents can make two different rows hash alike.
/// Times are cut to whole microseconds before they are stored and hashed, because PostgreSQL keeps no finer ones.
/// </remarks>
internal static class AuditChain
{
    public const string ContentChanged = "content-changed";
    public const string ChainBroken = "chain-broken";
    public const string RowMissing = "row-missing";

    /// <summary>The "previous hash" of the first row.</summary>
    public static readonly string GenesisHash = new('0', 64);

    /// <summary>The time as stored: UTC, whole microseconds.</summary>
    public static DateTimeOffset Normalize(DateTimeOffset at)
    {
        var ticks = at.UtcTicks - (at.UtcTicks % 10);
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    /// <summary>SHA-256 (lower-case hex) of the entry's canonical form followed by the previous row's hash.</summary>
    public static string HashOf(SecurityAuditEntry entry, string previousHash)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var canonical = new StringBuilder("security-event/v1");
        void Field(string? value)
        {
            if (value is null)
            {
                canonical.Append("|~");
            }
            else
            {
                canonical.Append('|').Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
            }
        }

        Field(entry.Id.ToString(CultureInfo.InvariantCulture));
        Field(Normalize(entry.At).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
        Field(entry.Kind);
        Field(entry.ActorKind);
        Field(entry.ActorId?.ToString("D"));
        Field(entry.SubjectKind);
        Field(entry.SubjectId?.ToString("D"));
        Field(entry.Action);
        Field(entry.Reason);
        Field(entry.Detail);
        Field(previousHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    /// <summary>Checks rows in id order; the first problem stops the walk (everything after a break is unverifiable).</summary>
    public sealed class Walker
    {
        private long _lastId;
        private string _lastHash = GenesisHash;

        public long Checked { get; private set; }

        public long? LastId => Checked == 0 ? null : _lastId;

        public string? LastHash => Checked == 0 ? null : _lastHash;

        /// <summary>Null when the row continues the chain, else the problem (<see cref="ContentChanged"/>, <see cref="ChainBroken"/>, <see cref="RowMissing"/>).</summary>
        public string? Check(ChainedEntry row)
        {
            ArgumentNullException.ThrowIfNull(row);
            Checked++;
            string? problem = null;
            if (HashOf(row.Entry, row.PreviousHash) != row.Hash)
            {
                problem = ContentChanged;
            }
            else if (row.Entry.Id != _lastId + 1)
            {
                problem = RowMissing;
            }
            else if (row.PreviousHash != _lastHash)
            {
                problem = ChainBroken;
            }

            _lastId = row.Entry.Id;
            _lastHash = row.Hash;
            return problem;
        }
    }
}
