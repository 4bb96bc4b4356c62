using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Teletherapy.MediaRelay.Tests.Architecture;

/// <summary>
/// The relay's namespaces form layers: each may use its own types and those of the layers below it, never a layer
/// above and never a neighbour in its own layer. References are read from the built assembly (signatures and method
/// bodies), so a fully qualified name or a <c>global using</c> cannot hide one.
/// </summary>
public sealed class LayeringTests
{
    private const string Root = "Teletherapy.MediaRelay";

    /// <summary>Lowest first; namespaces are named below <see cref="Root"/>, which is itself the bottom layer.</summary>
    private static readonly string[][] Layers =
    [
        [Root],                          // shared by all: options, limits, metrics, remote addresses
        ["Rtp", "Rtcp", "Stun", "Sdp"],  // packets: one parser and writer per protocol, independent of each other
        ["Srtp"],                        // security: media encryption...
        ["Dtls"],                        // ...and the handshake that keys it
        ["Ice"],                         // connectivity checks and candidate pairs
        ["Transport"],                   // sockets, paths, one WebRTC transport per peer
        ["Negotiation"],                 // SDP offers and answers; the codecs, extensions and tracks they settle
        ["Routing"],                     // producers, consumers, bandwidth and repair over negotiated transports
        ["Hosting"],                     // the service the host starts
    ];

    [Fact]
    public void Each_namespace_uses_only_itself_and_the_layers_below()
    {
        var violations = NamespaceReferences()
            .Where(r => !IsAllowed(r.From, r.To))
            .Select(r => $"{r.From} uses {r.To} ({r.Example})")
            .ToList();

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Every_namespace_has_a_layer()
    {
        var unplaced = NamespaceReferences()
            .SelectMany(r => new[] { r.From, r.To })
            .Distinct()
            .Where(n => LayerOf(n) < 0)
            .ToList();

        Assert.True(unplaced.Count == 0, "No layer for: " + string.Join(", ", unplaced));
    }

    [Fact]
    public void The_reader_sees_the_references_the_code_is_known_to_make()
    {
        var edges = NamespaceReferences().Select(r => (r.From, r.To)).ToHashSet();

        // A generic argument in a field: WebRtcTransport keeps IceCandidatePairs<PacketPath>.
        Assert.Contains(("Transport", "Ice"), edges);
        Assert.Contains(("Dtls", "Srtp"), edges);
        Assert.Contains(("Routing", "Negotiation"), edges);
        Assert.Contains(("Hosting", "Routing"), edges);
    }

    private static bool IsAllowed(string from, string to)
    {
        if (from == to)
        {
            return true;
        }

        var fromLayer = LayerOf(from);
        var toLayer = LayerOf(to);
        return fromLayer >= 0 && toLayer >= 0 && toLayer < fromLayer;
    }

    private static int LayerOf(string name) => Array.FindIndex(Layers, layer => layer.Contains(name));

    private static List<NamespaceReference> NamespaceReferences()
    {
        using var module = ModuleDefinition.ReadModule(typeof(MediaOptions).Assembly.Location);
        var found = new Dictionary<(string From, string To), string>();
        foreach (var type in module.GetTypes())
        {
            if (NameOf(type) is not { } from)
            {
                continue; // compiler-generated helpers outside the relay's namespaces
            }

            foreach (var used in TypesUsedBy(type))
            {
                if (NameOf(used) is { } to && from != to)
                {
                    found.TryAdd((from, to), $"{type.FullName} → {used.FullName}");
                }
            }
        }

        return [.. found.Select(f => new NamespaceReference(f.Key.From, f.Key.To, f.Value))];
    }

    /// <summary>The layer name of a type of the relay (<see cref="Root"/> or the first namespace part below it), else null.</summary>
    private static string? NameOf(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        var ns = type.Namespace;
        if (ns == Root)
        {
            return Root;
        }

        if (!ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns[(Root.Length + 1)..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private static List<TypeReference> TypesUsedBy(TypeDefinition type)
    {
        var used = new List<TypeReference>();
        Add(used, type.BaseType);
        used.AddRange(type.Interfaces.Select(i => i.InterfaceType));
        AddAttributes(used, type);
        AddConstraints(used, type.GenericParameters);
        foreach (var field in type.Fields)
        {
            Add(used, field.FieldType);
            AddAttributes(used, field);
        }

        foreach (var property in type.Properties)
        {
            Add(used, property.PropertyType);
            AddAttributes(used, property);
        }

        foreach (var e in type.Events)
        {
            Add(used, e.EventType);
        }

        foreach (var method in type.Methods)
        {
            Add(used, method.ReturnType);
            AddAttributes(used, method);
            AddConstraints(used, method.GenericParameters);
            foreach (var parameter in method.Parameters)
            {
                Add(used, parameter.ParameterType);
            }

            if (method.HasBody)
            {
                AddBody(used, method.Body);
            }
        }

        return used;
    }

    private static void AddBody(List<TypeReference> used, MethodBody body)
    {
        foreach (var variable in body.Variables)
        {
            Add(used, variable.VariableType);
        }

        foreach (var handler in body.ExceptionHandlers)
        {
            Add(used, handler.CatchType);
        }

        foreach (var instruction in body.Instructions)
        {
            switch (instruction.Operand)
            {
                case TypeReference t:
                    Add(used, t);
                    break;
                case MethodReference m:
                    Add(used, m.DeclaringType);
                    Add(used, m.ReturnType);
                    foreach (var p in m.Parameters)
                    {
                        Add(used, p.ParameterType);
                    }

                    if (m is GenericInstanceMethod generic)
                    {
                        foreach (var argument in generic.GenericArguments)
                        {
                            Add(used, argument);
                        }
                    }

                    break;
                case FieldReference f:
                    Add(used, f.DeclaringType);
                    Add(used, f.FieldType);
                    break;
            }
        }
    }

    private static void AddAttributes(List<TypeReference> used, ICustomAttributeProvider provider)
    {
        foreach (var attribute in provider.CustomAttributes)
        {
            Add(used, attribute.AttributeType);
        }
    }

    private static void AddConstraints(List<TypeReference> used, IEnumerable<GenericParameter> parameters)
    {
        foreach (var constraint in parameters.SelectMany(p => p.Constraints))
        {
            Add(used, constraint.ConstraintType);
        }
    }

    /// <summary>Adds a type and what it is made of: the element of an array or pointer, the arguments of a generic.</summary>
    private static void Add(List<TypeReference> used, TypeReference? type)
    {
        switch (type)
        {
            case null or GenericParameter:
                return;
            case GenericInstanceType generic:
                Add(used, generic.ElementType);
                foreach (var argument in generic.GenericArguments)
                {
                    Add(used, argument);
                }

                return;
            case TypeSpecification specification:
                Add(used, specification.ElementType);
                return;
            default:
                used.Add(type);
                return;
        }
    }

    private sealed record NamespaceReference(string From, string To, string Example);
}
