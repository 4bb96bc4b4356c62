namespace Teletherapy.MediaRelay.Fuzz;

/// <summary>
/// The seed files of load-tests/Fuzz/corpus: one folder per target, one input per <c>.bin</c> file (SDP as <c>.sdp</c>),
/// recorded from a loopback session of the relay's own client and server (<see cref="CorpusRecorder"/>) or taken
/// from browser captures. Copied next to the runner at build time.
/// </summary>
internal sealed class Corpus(string directory)
{
    public static Corpus Default { get; } = new(Path.Combine(AppContext.BaseDirectory, "corpus"));

    public string Directory { get; } = directory;

    /// <summary>Every file of a target's folder, in name order (so runs with one seed are repeatable).</summary>
    public IEnumerable<byte[]> Load(string target)
    {
        string folder = Path.Combine(Directory, target);
        if (!System.IO.Directory.Exists(folder))
        {
            return [];
        }

        return System.IO.Directory.GetFiles(folder)
            .Where(f => f.EndsWith(".bin", StringComparison.Ordinal) || f.EndsWith(".sdp", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(File.ReadAllBytes)
            .ToList();
    }

    /// <summary>A text file of a target's folder, or null.</summary>
    public string? LoadText(string target, string name)
    {
        string path = Path.Combine(Directory, target, name);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }
}
