using System.Text.RegularExpressions;

namespace Teletherapy.Scheduling.Tests.Architecture;

public sealed partial class DependencyTests
{
    [Fact]
    public void Scheduling_references_neither_AspNetCore_nor_MediaRelay()
    {
        var references = typeof(SchedulingOptions).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        // PasswordHasher comes from Microsoft.Extensions.Identity.Core, which does not depend on the web stack.
        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.Contains("MediaRelay", StringComparison.Ordinal) || r.Contains("Signaling", StringComparison.Ordinal));
    }

    [Fact]
    public void Scheduling_logic_reads_time_only_through_TimeProvider()
    {
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/Scheduling"));
        Assert.True(Directory.Exists(root), root);
        var offenders = Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => !f.EndsWith("MigrationRunner.cs", StringComparison.Ordinal)) // bookkeeping of when a migration ran
            .Where(f => ClockCall().IsMatch(File.ReadAllText(f)))
            .ToList();
        Assert.Empty(offenders);
    }

    [GeneratedRegex(@"DateTime(Offset)?\.(Utc)?Now")]
    private static partial Regex ClockCall();
}
