using System.Text.RegularExpressions;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>The metric names a server can expose: from a /metrics text and from the Metrics.Create… calls in the sources.</summary>
internal sealed partial class MetricCatalog
{
    private readonly HashSet<string> _samples = new(StringComparer.Ordinal);

    public HashSet<string> LabelNames { get; } = new(StringComparer.Ordinal) { "job", "instance", "le", "quantile" };

    /// <summary>Every string literal in the sources (label values such as a drop reason or a limit's name).</summary>
    public HashSet<string> LabelValues { get; } = new(StringComparer.Ordinal);

    public bool Resolves(string name) => _samples.Contains(name);

    public void AddExposition(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var type = TypeLine().Match(line);
            if (type.Success)
            {
                AddFamily(type.Groups[1].Value, type.Groups[2].Value);
                continue;
            }

            var sample = SampleLine().Match(line);
            if (sample.Success && !line.StartsWith('#'))
            {
                _samples.Add(sample.Groups[1].Value);
                foreach (Match label in LabelPair().Matches(sample.Groups[2].Value))
                {
                    LabelNames.Add(label.Groups[1].Value);
                }
            }
        }
    }

    public void AddSources(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
        {
            var parts = file.Split(Path.DirectorySeparatorChar);
            if (!parts.Contains("bin") && !parts.Contains("obj") && !parts.Contains("node_modules"))
            {
                AddSourceText(File.ReadAllText(file));
            }
        }
    }

    public void AddSourceText(string source)
    {
        foreach (Match literal in StringLiteral().Matches(source))
        {
            LabelValues.Add(literal.Groups[1].Value);
        }

        foreach (Match call in CreateCall().Matches(source))
        {
            var strings = StringLiteral().Matches(call.Groups[2].Value).Select(m => m.Groups[1].Value).ToList();
            if (strings.Count == 0)
            {
                continue;
            }

            AddFamily(strings[0], call.Groups[1].Value.ToLowerInvariant());
            foreach (var label in strings.Skip(2).Where(s => Identifier().IsMatch(s)))
            {
                LabelNames.Add(label);
            }
        }
    }

    /// <summary>The sample names Prometheus stores for a family of the given type.</summary>
    private void AddFamily(string family, string type)
    {
        switch (type)
        {
            case "histogram":
                _samples.Add(family + "_bucket");
                _samples.Add(family + "_sum");
                _samples.Add(family + "_count");
                break;
            case "summary":
                _samples.Add(family);
                _samples.Add(family + "_sum");
                _samples.Add(family + "_count");
                break;
            case "counter":
                _samples.Add(family.EndsWith("_total", StringComparison.Ordinal) ? family : family + "_total");
                break;
            default:
                _samples.Add(family);
                break;
        }
    }

    [GeneratedRegex(@"^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""")]
    private static partial Regex LabelPair();

    [GeneratedRegex(@"\.\s*Create(Counter|Gauge|Histogram|Summary)\s*\((.*?)\)\s*;", RegexOptions.Singleline)]
    private static partial Regex CreateCall();

    [GeneratedRegex(@"""((?:[^""\\\n]|\\.)*)""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex Identifier();
}
