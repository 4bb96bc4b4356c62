using Teletherapy.Scheduling.Audit;

namespace Teletherapy.Scheduling.Tests.Audit;

/// <summary>The hash chain's rules without a database: what each kind of tampering looks like to the walker.</summary>
public sealed class AuditChainTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);

    private static List<ChainedEntry> Chain(int rows)
    {
        var chain = new List<ChainedEntry>();
        var previous = AuditChain.GenesisHash;
        for (var id = 1; id <= rows; id++)
        {
            var entry = new SecurityAuditEntry(id, At.AddSeconds(id), SecurityEventKinds.PatientRead, "staff", Guid.NewGuid(), "patient", Guid.NewGuid(), "patient", null, null);
            var hash = AuditChain.HashOf(entry, previous);
            chain.Add(new ChainedEntry(entry, previous, hash));
            previous = hash;
        }

        return chain;
    }

    private static (long? Id, string? Problem) Walk(IEnumerable<ChainedEntry> rows)
    {
        var walker = new AuditChain.Walker();
        foreach (var row in rows)
        {
            if (walker.Check(row) is { } problem)
            {
                return (row.Entry.Id, problem);
            }
        }

        return (null, null);
    }

    [Fact]
    public void An_untouched_chain_checks_out()
    {
        Assert.Equal((null, null), Walk(Chain(5)));
        Assert.Equal((null, null), Walk([]));
    }

    [Fact]
    public void A_row_changed_in_place_no_longer_matches_its_hash()
    {
        var chain = Chain(5);
        chain[2] = chain[2] with { Entry = chain[2].Entry with { Reason = "edited" } };
        Assert.Equal((3L, AuditChain.ContentChanged), Walk(chain));
    }

    [Fact]
    public void A_row_changed_with_a_new_hash_breaks_the_link_of_the_next_row()
    {
        var chain = Chain(5);
        var forged = chain[2].Entry with { ActorId = Guid.NewGuid() };
        chain[2] = chain[2] with { Entry = forged, Hash = AuditChain.HashOf(forged, chain[2].PreviousHash) };
        Assert.Equal((4L, AuditChain.ChainBroken), Walk(chain));
    }

    [Fact]
    public void A_deleted_row_leaves_a_gap_reported_at_the_row_after_it()
    {
        var chain = Chain(5);
        chain.RemoveAt(1);
        Assert.Equal((3L, AuditChain.RowMissing), Walk(chain));
        Assert.Equal((2L, AuditChain.RowMissing), Walk(Chain(5).Skip(1)));
    }

    [Fact]
    public void Fields_are_length_prefixed_so_moving_text_between_fields_changes_the_hash()
    {
        var entry = new SecurityAuditEntry(1, At, SecurityEventKinds.StaffChanged, "staff", null, "staff", null, "updated", "a|b", null);
        var moved = entry with { Action = "updated|a", Reason = "b" };
        Assert.NotEqual(AuditChain.HashOf(entry, AuditChain.GenesisHash), AuditChain.HashOf(moved, AuditChain.GenesisHash));
        Assert.NotEqual(AuditChain.HashOf(entry with { Detail = "" }, AuditChain.GenesisHash), AuditChain.HashOf(entry, AuditChain.GenesisHash));
    }

    [Fact]
    public void Times_are_hashed_to_the_microsecond_as_the_databases_keep_them()
    {
        var entry = new SecurityAuditEntry(1, At.AddTicks(12_345_678), SecurityEventKinds.SignIn, "staff", null, null, null, null, null, null);
        Assert.Equal(At.AddTicks(12_345_670), AuditChain.Normalize(entry.At));
        Assert.Equal(AuditChain.HashOf(entry, AuditChain.GenesisHash), AuditChain.HashOf(entry with { At = AuditChain.Normalize(entry.At) }, AuditChain.GenesisHash));
        Assert.Matches("^[0-9a-f]{64}$", AuditChain.HashOf(entry, AuditChain.GenesisHash));
    }

    [Fact]
    public void Unknown_kinds_are_refused_when_the_event_is_made()
    {
        Assert.Throws<ArgumentException>(() => new SecurityEvent("made-up", AuditActor.System));
    }
}
