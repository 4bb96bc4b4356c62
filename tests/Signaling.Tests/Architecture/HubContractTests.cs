using System.Reflection;
using Teletherapy.Signaling.Sessions;
using Teletherapy.Signaling.Tests.Hosting;

namespace Teletherapy.Signaling.Tests.Architecture;

/// <summary>
/// The web client's copy of the session hub's contract (<c>src/WebClient/src/session/contract.ts</c>) agrees with the
/// server's (<see cref="SessionHub"/>, <see cref="ISessionClient"/>, the records of SessionContracts.cs): the hub's
/// methods with their arguments and answers, the server's events, every record's fields (camelCase on the wire) and their
/// types, and the participant states; and the pages call only what the contract declares, with as many arguments.
/// </summary>
public sealed class HubContractTests
{
    private const string ContractFile = "src/WebClient/src/session/contract.ts";

    private static readonly NullabilityInfoContext Nullability = new();

    private static readonly Lazy<TypeScriptContract> Contract = new(() =>
        TypeScriptContract.Parse(File.ReadAllText(Path.Combine(RepositoryFolder.Root(), ContractFile))));

    [Fact]
    public void The_hub_methods_are_the_contracts_with_the_same_arguments_and_answers()
    {
        var methods = typeof(SessionHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && m.GetBaseDefinition().DeclaringType == typeof(SessionHub))
            .ToList();
        var problems = CompareMethods(methods, Interface("SessionHubMethods"), "SessionHub");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_server_events_are_the_contracts_with_the_same_arguments()
    {
        var problems = CompareMethods([.. typeof(ISessionClient).GetMethods()], Interface("SessionClientEvents"), "ISessionClient");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_record_on_the_wire_has_the_same_fields_and_types_in_the_contract()
    {
        var records = WireRecords();
        Assert.Contains(typeof(JoinResult), records);
        var problems = new List<string>();
        foreach (var record in records)
        {
            if (!Contract.Value.Interfaces.TryGetValue(record.Name, out var members))
            {
                problems.Add($"{record.Name} is sent or received by the hub but has no interface in {ContractFile}.");
                continue;
            }

            var properties = record.GetProperties(BindingFlags.Public | BindingFlags.Instance);
            var wire = properties.ToDictionary(p => CamelCase(p.Name), StringComparer.Ordinal);
            foreach (var name in wire.Keys.Except(members.Select(m => m.Name)))
            {
                problems.Add($"{record.Name}.{name} is on the wire but not in the contract's {record.Name}.");
            }

            foreach (var member in members)
            {
                if (!wire.TryGetValue(member.Name, out var property))
                {
                    problems.Add($"The contract's {record.Name}.{member.Name} is not on the wire (camelCase of a property of {record.Name}).");
                }
                else if (Mismatch(Nullability.Create(property), member.Type) is { } why)
                {
                    problems.Add($"{record.Name}.{member.Name}: {why}");
                }
            }
        }

        // Interfaces of the contract without a record on the server would be a client's invention.
        var known = records.Select(r => r.Name).Concat(["SessionHubMethods", "SessionClientEvents"]).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(Contract.Value.Interfaces.Keys.Where(name => !known.Contains(name))
            .Select(name => $"The contract's interface {name} is not a record the hub sends or receives."));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_participant_states_are_the_hubs()
    {
        var server = typeof(ParticipantStates).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).Order(StringComparer.Ordinal);
        Assert.Equal(server, Contract.Value.StringUnions["ParticipantState"].Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_pages_invoke_and_listen_to_only_what_the_contract_declares_with_as_many_arguments()
    {
        var source = Path.Combine(RepositoryFolder.Root(), "src/WebClient/src");
        var calls = Directory.GetFiles(source, "*.ts", SearchOption.AllDirectories)
            .SelectMany(f => HubCalls.In(Path.GetRelativePath(source, f), File.ReadAllText(f)))
            .ToList();
        Assert.True(calls.Count(c => c.Kind == "invoke") >= 10, $"Only {calls.Count(c => c.Kind == "invoke")} hub invocations found in the pages.");
        Assert.True(calls.Count(c => c.Kind == "on") >= 8, $"Only {calls.Count(c => c.Kind == "on")} event handlers found in the pages.");

        var methods = Interface("SessionHubMethods").ToDictionary(m => m.Name, m => m.Parameters!.Count, StringComparer.Ordinal);
        var events = Interface("SessionClientEvents").Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var call in calls)
        {
            if (call.Kind is "invoke" or "send")
            {
                if (!methods.TryGetValue(call.Name, out var count))
                {
                    problems.Add($"{call.File}: {call.Kind}('{call.Name}') is not a method of the contract's SessionHubMethods.");
                }
                else if (count != call.Arguments)
                {
                    problems.Add($"{call.File}: {call.Kind}('{call.Name}') with {call.Arguments} arguments; the contract says {count}.");
                }
            }
            else if (!events.Contains(call.Name))
            {
                problems.Add($"{call.File}: {call.Kind}('{call.Name}') is not an event of the contract's SessionClientEvents.");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static IReadOnlyList<TsMember> Interface(string name)
    {
        Assert.True(Contract.Value.Interfaces.TryGetValue(name, out var members), $"{ContractFile} has no interface {name}.");
        return members!;
    }

    private static List<string> CompareMethods(IReadOnlyList<MethodInfo> server, IReadOnlyList<TsMember> client, string serverName)
    {
        var problems = new List<string>();
        var byName = client.ToDictionary(m => m.Name, StringComparer.Ordinal);
        foreach (var name in byName.Keys.Except(server.Select(m => m.Name)))
        {
            problems.Add($"The contract has {name}, which {serverName} does not.");
        }

        foreach (var method in server)
        {
            if (!byName.TryGetValue(method.Name, out var member) || member.Parameters is null)
            {
                problems.Add($"{serverName}.{method.Name} is not in the contract.");
                continue;
            }

            var parameters = method.GetParameters();
            if (parameters.Length != member.Parameters.Count)
            {
                problems.Add($"{method.Name}: {parameters.Length} arguments on the server, {member.Parameters.Count} in the contract.");
                continue;
            }

            for (var i = 0; i < parameters.Length; i++)
            {
                if (Mismatch(Nullability.Create(parameters[i]), member.Parameters[i]) is { } why)
                {
                    problems.Add($"{method.Name}, argument {i + 1} ({parameters[i].Name}): {why}");
                }
            }

            var answer = Nullability.Create(method.ReturnParameter);
            var answered = answer.Type == typeof(Task) ? null : answer.GenericTypeArguments.Single();
            var expected = answered is null ? "void" : TsName(answered);
            if (expected != Resolve(member.Type.Text) || (answered is not null && IsNullable(answered) != member.Type.Nullable))
            {
                problems.Add($"{method.Name} answers {expected}{(answered is not null && IsNullable(answered) ? " | null" : "")} on the server, {member.Type.Text}{(member.Type.Nullable ? " | null" : "")} in the contract.");
            }
        }

        return problems;
    }

    /// <summary>Why a server-side type and the contract's do not agree, or null when they do.</summary>
    private static string? Mismatch(NullabilityInfo server, TsType client)
    {
        var expected = TsName(server);
        var nullable = IsNullable(server);
        if (expected != Resolve(client.Text) || nullable != client.Nullable)
        {
            return $"{expected}{(nullable ? " | null" : "")} on the server, {client.Text}{(client.Nullable ? " | null" : "")} in the contract.";
        }

        return null;
    }

    /// <summary>The contract's type with string-literal unions read as the string they are on the wire.</summary>
    private static string Resolve(string text) => Contract.Value.StringUnions.ContainsKey(text) ? "string" : text;

    private static bool IsNullable(NullabilityInfo info) =>
        Nullable.GetUnderlyingType(info.Type) is not null || (!info.Type.IsValueType && info.ReadState == NullabilityState.Nullable);

    /// <summary>How System.Text.Json writes the type, as a TypeScript type (records by their name).</summary>
    private static string TsName(NullabilityInfo info)
    {
        var type = Nullable.GetUnderlyingType(info.Type) ?? info.Type;
        if (type.IsArray)
        {
            return TsName(info.ElementType!) + "[]";
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(IReadOnlyList<>) || definition == typeof(List<>) || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IEnumerable<>)))
        {
            return TsName(info.GenericTypeArguments.Single()) + "[]";
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.String => "string",
            TypeCode.Boolean => "boolean",
            TypeCode.Int16 or TypeCode.Int32 or TypeCode.Int64 or TypeCode.Double or TypeCode.Single or TypeCode.Decimal => "number",
            _ when type == typeof(Guid) || type == typeof(DateTimeOffset) => "string",
            _ => type.Name,
        };
    }

    /// <summary>The records the hub's methods and events carry, and the records inside them.</summary>
    private static List<Type> WireRecords()
    {
        var found = new List<Type>();
        var methods = typeof(SessionHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Concat(typeof(ISessionClient).GetMethods());
        var pending = new Queue<Type>(methods.SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)));
        while (pending.TryDequeue(out var type))
        {
            if (type.IsGenericType || type.IsArray)
            {
                foreach (var inner in type.IsArray ? [type.GetElementType()!] : type.GetGenericArguments())
                {
                    pending.Enqueue(inner);
                }

                continue;
            }

            if (type.Namespace == typeof(JoinResult).Namespace && type.IsClass && !found.Contains(type))
            {
                found.Add(type);
                foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    pending.Enqueue(property.PropertyType);
                }
            }
        }

        return found;
    }

    private static string CamelCase(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}
