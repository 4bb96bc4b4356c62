using System.Text.RegularExpressions;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>What a PromQL expression reads: metric names, label names it groups or matches by, and equality matchers.</summary>
internal sealed partial class PromQuery
{
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2", "start", "end",
    };

    public HashSet<string> MetricNames { get; } = new(StringComparer.Ordinal);

    public HashSet<string> LabelNames { get; } = new(StringComparer.Ordinal);

    public List<(string Label, string Value)> EqualityMatchers { get; } = [];

    public static PromQuery Parse(string expr)
    {
        var query = new PromQuery();

        // Label matchers: {name="value", other=~"re"}.
        var text = Selector().Replace(expr, m =>
        {
            foreach (Match matcher in Matcher().Matches(m.Groups[1].Value))
            {
                query.LabelNames.Add(matcher.Groups[1].Value);
                if (matcher.Groups[2].Value is "=" or "!=")
                {
                    query.EqualityMatchers.Add((matcher.Groups[1].Value, matcher.Groups[3].Value));
                }
            }

            return " ";
        });

        // Grouping: by (a, b), without (c), on (d), ignoring (e), group_left (f).
        text = Grouping().Replace(text, m =>
        {
            foreach (var label in m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                query.LabelNames.Add(label);
            }

            return " ";
        });

        text = StringLiteral().Replace(text, " ");
        text = RangeOrSubquery().Replace(text, " ");
        text = GrafanaVariable().Replace(text, " ");
        text = Number().Replace(text, " ");
        foreach (Match identifier in IdentifierNotCalled().Matches(text))
        {
            if (!Keywords.Contains(identifier.Groups[1].Value))
            {
                query.MetricNames.Add(identifier.Groups[1].Value);
            }
        }

        return query;
    }

    [GeneratedRegex(@"\{([^}]*)\}")]
    private static partial Regex Selector();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Matcher();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", RegexOptions.IgnoreCase)]
    private static partial Regex Grouping();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""|'(?:[^'\\]|\\.)*'")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex RangeOrSubquery();

    [GeneratedRegex(@"\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?")]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"(?<![a-zA-Z0-9_:])(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)")]
    private static partial Regex Number();

    [GeneratedRegex(@"(?<![a-zA-Z0-9_:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?!\s*\()(?![a-zA-Z0-9_:])")]
    private static partial Regex IdentifierNotCalled();
}
