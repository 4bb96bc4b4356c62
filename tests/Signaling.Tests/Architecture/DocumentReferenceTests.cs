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

    [Fact]
    public void Every_file_and_folder_the_readme_links_to_is_in_the_repository()
    {
        var root = RepositoryFolder.Root();
        var links = LocalLinks(File.ReadAllText(Path.Combine(root, "README.md"))).ToList();
        Assert.True(links.Count > 40, $"{links.Count} local links in README.md");
        var missing = links.Where(l => !File.Exists(Path.Combine(root, l)) && !Directory.Exists(Path.Combine(root, l))).ToList();
        Assert.True(missing.Count == 0, "README.md links to paths that are not in the repository:\n" + string.Join('\n', missing));
    }

    [Fact]
    public void The_readme_link_check_reads_local_links_only()
    {
        Assert.Equal(
            ["src/Signaling/Program.cs", "src/MediaRelay"],
            LocalLinks("[a](src/Signaling/Program.cs), [b](https://example.org/x.cs), [c](#performance) and [`d/`](src/MediaRelay)"));
    }

    /// <summary>The targets of the markdown links in <paramref name="markdown"/> that are paths in the repository (no URL, no anchor).</summary>
    private static IEnumerable<string> LocalLinks(string markdown) =>
        MarkdownLink().Matches(markdown).Select(m => m.Groups[1].Value)
            .Where(t => !t.StartsWith('#') && !t.Contains("://", StringComparison.Ordinal) && !t.StartsWith("mailto:", StringComparison.Ordinal))
            .Select(t => t.Split('#')[0]);

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

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"\b[\w.-]+\.md\b")]
    private static partial Regex MarkdownName();
}
