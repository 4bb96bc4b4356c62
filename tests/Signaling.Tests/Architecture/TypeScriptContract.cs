using System.Text.RegularExpressions;

namespace Teletherapy.Signaling.Tests.Architecture;

/// <summary>A member of a TypeScript interface: a field (<c>name?: type</c>) or a method (<c>Name(a: A, b: B): R</c>).</summary>
internal sealed record TsMember(string Name, TsType Type, bool Optional, IReadOnlyList<TsType>? Parameters);

/// <summary>A TypeScript type as written, split into its non-null part and whether <c>| null</c> is allowed.</summary>
internal sealed record TsType(string Text, bool Nullable)
{
    public static TsType Parse(string text)
    {
        var parts = text.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var nullable = parts.Contains("null");
        var rest = parts.Where(p => p is not "null" and not "undefined").ToList();
        return new TsType(string.Join(" | ", rest), nullable);
    }
}

/// <summary>
/// The declarations of the web client's hub contract (<c>session/contract.ts</c>) read from its source: exported interfaces
/// and string-literal union types. Enough TypeScript for a file of plain declarations (no nested object types), which is
/// what the contract is; anything else in it is not read.
/// </summary>
internal sealed partial class TypeScriptContract
{
    private TypeScriptContract(Dictionary<string, IReadOnlyList<TsMember>> interfaces, Dictionary<string, IReadOnlyList<string>> stringUnions)
    {
        Interfaces = interfaces;
        StringUnions = stringUnions;
    }

    public IReadOnlyDictionary<string, IReadOnlyList<TsMember>> Interfaces { get; }

    /// <summary>Types such as <c>type ParticipantState = 'admitted' | 'denied'</c>, with their values.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> StringUnions { get; }

    public static TypeScriptContract Parse(string source)
    {
        var code = WithoutComments(source);
        var interfaces = new Dictionary<string, IReadOnlyList<TsMember>>(StringComparer.Ordinal);
        foreach (Match match in Interface().Matches(code))
        {
            interfaces[match.Groups[1].Value] = match.Groups[2].Value
                .Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(ParseMember)
                .ToList();
        }

        var unions = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (Match match in TypeAlias().Matches(code))
        {
            var parts = match.Groups[2].Value.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && parts.All(p => p.Length >= 2 && p[0] == '\'' && p[^1] == '\''))
            {
                unions[match.Groups[1].Value] = parts.Select(p => p[1..^1]).ToList();
            }
        }

        return new TypeScriptContract(interfaces, unions);
    }

    private static TsMember ParseMember(string text)
    {
        var method = Method().Match(text);
        if (method.Success)
        {
            var parameters = method.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(p => TsType.Parse(p[(p.IndexOf(':', StringComparison.Ordinal) + 1)..]))
                .ToList();
            return new TsMember(method.Groups[1].Value, TsType.Parse(method.Groups[3].Value), false, parameters);
        }

        var field = Field().Match(text);
        Assert.True(field.Success, $"Not a field or method of an interface: {text}");
        return new TsMember(field.Groups[1].Value, TsType.Parse(field.Groups[3].Value), field.Groups[2].Success, null);
    }

    /// <summary>The source without <c>/* */</c> and <c>//</c> comments (the contract has no such text inside strings).</summary>
    private static string WithoutComments(string source) => LineComment().Replace(BlockComment().Replace(source, " "), string.Empty);

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();

    [GeneratedRegex(@"(?<![:'""])//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"export\s+interface\s+(\w+)\s*\{([^{}]*)\}")]
    private static partial Regex Interface();

    [GeneratedRegex(@"export\s+type\s+(\w+)\s*=\s*([^;]+);")]
    private static partial Regex TypeAlias();

    [GeneratedRegex(@"^(\w+)\s*\(([^)]*)\)\s*:\s*(.+)$", RegexOptions.Singleline)]
    private static partial Regex Method();

    [GeneratedRegex(@"^(\w+)(\?)?\s*:\s*(.+)$", RegexOptions.Singleline)]
    private static partial Regex Field();
}

/// <summary>A use of the hub in a page: <c>hub.invoke('Name', a, b)</c> (with its argument count) or <c>hub.on('Name', …)</c>.</summary>
internal sealed record HubCall(string File, string Kind, string Name, int Arguments);

/// <summary>Finds the hub calls with a literal name in the web client's sources.</summary>
internal static partial class HubCalls
{
    public static IReadOnlyList<HubCall> In(string file, string source)
    {
        var calls = new List<HubCall>();
        foreach (Match match in Call().Matches(source))
        {
            var kind = match.Groups[1].Value;
            calls.Add(new HubCall(file, kind, match.Groups[2].Value, kind == "invoke" ? ArgumentsAfter(source, match.Index + match.Length) : 0));
        }

        return calls;
    }

    /// <summary>
    /// The number of arguments after the method name, from just past the name's closing quote to the call's closing
    /// parenthesis: commas at the call's own depth, outside strings.
    /// </summary>
    private static int ArgumentsAfter(string source, int position)
    {
        var depth = 0;
        var arguments = 0;
        var pending = false;
        for (var i = position; i < source.Length; i++)
        {
            var c = source[i];
            if (c is '\'' or '"' or '`')
            {
                i = source.IndexOf(c, i + 1);
                pending = true;
                Assert.True(i > 0, "An unterminated string in a hub call.");
                continue;
            }

            switch (c)
            {
                case '(' or '[' or '{':
                    depth++;
                    pending = true;
                    break;
                case ')' or ']' or '}' when depth > 0:
                    depth--;
                    break;
                case ')':
                    return arguments + (pending ? 1 : 0);
                case ',' when depth == 0:
                    if (pending)
                    {
                        arguments++;
                    }

                    pending = true;
                    break;
                default:
                    if (!char.IsWhiteSpace(c))
                    {
                        pending = true;
                    }

                    break;
            }
        }

        throw new InvalidOperationException("A hub call without its closing parenthesis.");
    }

    [GeneratedRegex(@"\.(invoke|send|on|off)(?:<[^()]*?>)?\(\s*'([A-Z]\w*)'")]
    private static partial Regex Call();
}
