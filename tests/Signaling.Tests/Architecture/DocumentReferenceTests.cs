using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Teletherapy.Signaling.Tests.Hosting;

namespace Teletherapy.Signaling.Tests.Architecture;

/// <summary>
/// Notes in the code point at RFCs or at files a reader of this repository can open: a comment naming a document
/// (<c>something.md</c>) that is not in the repository sends the next engineer nowhere.
/// </summary>
public sealed partial class DocumentReferenceTests
{
    private static readonly ConcurrentDictionary<string, HashSet<string>> MarkdownFiles = new(StringComparer.Ordinal);

    [Fact]
    public void Every_markdown_document_named_in_the_sources_is_in_the_repository()
    {
        var root = RepositoryFolder.Root();
        var missing = new List<string>();
        foreach (var folder in new[] { "src", "tests", "load-tests" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.*", SearchOption.AllDirectories))
            {
                if (!(file.EndsWith(".cs", StringComparison.Ordinal) || file.EndsWith(".ts", StringComparison.Ordinal)) || IsBuildOutput(file)
                    || file.EndsWith(nameof(DocumentReferenceTests) + ".cs", StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (Match match in MarkdownName().Matches(File.ReadAllText(file)))
                {
                    var name = match.Value;
                    if (!DocumentExists(root, name))
                    {
                        missing.Add($"{Path.GetRelativePath(root, file)}: {name}");
                    }
                }
            }
        }

        Assert.True(missing.Count == 0, "documents named but not in the repository:\n" + string.Join('\n', missing));
    }

    [Fact]
    public void The_check_finds_a_document_that_is_not_there()
    {
        var root = RepositoryFolder.Root();
        Assert.True(DocumentExists(root, "README.md"));
        Assert.False(DocumentExists(root, "webrtc.md"));
        Assert.Equal(["webrtc.md", "README.md"], MarkdownName().Matches("see webrtc.md §4 and README.md").Select(m => m.Value));
    }

    private static bool IsBuildOutput(string file) =>
        file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal)
        || file.Contains("/node_modules/", StringComparison.Ordinal) || file.Contains("/wwwroot/", StringComparison.Ordinal);

    /// <summary>A name is found where it is written: at the root, or anywhere in the repository (a folder's own notes).</summary>
    private static bool DocumentExists(string root, string name) =>
        File.Exists(Path.Combine(root, name)) || MarkdownFilesIn(root).Contains(name);

    /// <summary>The names of the repository's markdown files outside build output, read once per root.</summary>
    private static HashSet<string> MarkdownFilesIn(string root) =>
        MarkdownFiles.GetOrAdd(root, static r => Directory.EnumerateFiles(r, "*.md", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(f))
            .Select(Path.GetFileName)
            .ToHashSet(StringComparer.Ordinal)!);

    [GeneratedRegex(@"\b[\w.-]+\.md\b")]
    private static partial Regex MarkdownName();
}
