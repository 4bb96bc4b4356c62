using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Teletherapy.Signaling.Tests.Api;

/// <summary>
/// Every operation with a request body in the OpenAPI document, sent malformed, wrongly typed, with nulls where
/// objects belong and with oversized values, by a caller allowed to use it: each answer is a 4xx problem, never a
/// 5xx, and nothing is saved.
/// </summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private readonly ApiHost _host = new();
    private HttpClient _api = null!;
    private JsonObject _document = null!;
    private Dictionary<string, string> _ids = null!;

    public async Task InitializeAsync()
    {
        _api = _host.Integrator();
        (await _api.PutAsJsonAsync("/api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = true })).EnsureSuccessStatusCode();
        var staff = await _api.PostAsJsonAsync("/api/v1/staff", new { name = "Dr. Ada Weber", email = "ada@clinic.example", password = "correct horse battery" });
        var staffId = (await staff.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var patient = await _api.PostAsJsonAsync("/api/v1/patients", new { name = "Mia Keller", contacts = new[] { new { name = "Mia Keller", email = "mia@example.org", isPrimary = true } } });
        var patientId = (await patient.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var appointment = await _api.PostAsJsonAsync("/api/v1/appointments", new { patientId, therapistIds = new[] { staffId }, start = ApiHost.T0.AddDays(1), durationMinutes = 50 });
        var appointmentId = (await appointment.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        _ids = new() { ["/staff/"] = staffId.ToString(), ["/patients/"] = patientId.ToString(), ["/appointments/"] = appointmentId.ToString() };
        _document = (await _api.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Malformed_wrongly_typed_and_oversized_bodies_get_4xx_and_save_nothing()
    {
        var before = await SnapshotAsync();
        var operations = 0;
        var failures = new List<string>();
        foreach (var (path, item) in _document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (operation?["requestBody"]?["content"]?["application/json"]?["schema"] is not { } schema)
                {
                    continue;
                }

                operations++;
                var url = Resolve(path);
                foreach (var (label, body) in Bodies(Deref(schema)))
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                    using var response = await _api.SendAsync(request);
                    var status = (int)response.StatusCode;
                    if (status is < 400 or >= 500)
                    {
                        failures.Add($"{method.ToUpperInvariant()} {path} with {label}: {status}");
                    }
                    else if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                    {
                        failures.Add($"{method.ToUpperInvariant()} {path} with {label}: {status} without a problem body");
                    }
                }
            }
        }

        Assert.True(operations >= 8, $"Only {operations} operations with a body were found in the OpenAPI document.");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>What a bad request must not change: staff, patients with contacts, appointments, emails, the clinic.</summary>
    private async Task<string> SnapshotAsync()
    {
        var parts = new List<string>();
        foreach (var url in new[] { "/api/v1/clinic", "/api/v1/staff", "/api/v1/patients", $"/api/v1/appointments?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z", $"/api/v1/appointments/{_ids["/appointments/"]}/emails" })
        {
            parts.Add(await _api.GetStringAsync(url));
        }

        return string.Join("\n", parts);
    }

    private string Resolve(string path)
    {
        var url = path;
        foreach (var (prefix, id) in _ids)
        {
            var at = url.IndexOf(prefix + "{", StringComparison.Ordinal);
            if (at >= 0)
            {
                var close = url.IndexOf('}', at);
                url = url[..(at + prefix.Length)] + id + url[(close + 1)..];
            }
        }

        return url.Replace("{token}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", StringComparison.Ordinal)
            .Replace("{id}", Guid.NewGuid().ToString(), StringComparison.Ordinal);
    }

    private JsonObject Deref(JsonNode schema)
    {
        if (schema["$ref"]?.GetValue<string>() is { } reference)
        {
            var name = reference[(reference.LastIndexOf('/') + 1)..];
            return _document["components"]!["schemas"]![name]!.AsObject();
        }

        return schema.AsObject();
    }

    private IEnumerable<(string Label, string Body)> Bodies(JsonObject schema)
    {
        yield return ("truncated JSON", "{\"name\": ");
        yield return ("not JSON", "<xml/>");
        yield return ("an array", "[]");
        yield return ("a number", "42");
        yield return ("null", "null");
        yield return ("an empty object", "{}");
        var huge = new string('x', 1_000_000);
        var properties = schema["properties"]?.AsObject() ?? [];
        yield return ("oversized strings", new JsonObject(properties.Select(p => KeyValuePair.Create<string, JsonNode?>(p.Key, huge))).ToJsonString());
        yield return ("every property null", new JsonObject(properties.Select(p => KeyValuePair.Create<string, JsonNode?>(p.Key, null))).ToJsonString());
        foreach (var (name, property) in properties)
        {
            var types = TypesOf(property!);
            yield return ($"{name} as a wrong type", new JsonObject { [name] = WrongValue(types) }.ToJsonString());
            if (types.Contains("array"))
            {
                yield return ($"{name} as [null]", new JsonObject { [name] = new JsonArray((JsonNode?)null) }.ToJsonString());
                yield return ($"{name} as [[]]", new JsonObject { [name] = new JsonArray(new JsonArray()) }.ToJsonString());
                yield return ($"{name} with 10,000 items", new JsonObject { [name] = new JsonArray(Enumerable.Range(0, 10_000).Select(_ => (JsonNode?)new JsonObject()).ToArray()) }.ToJsonString());
            }
        }
    }

    private List<string> TypesOf(JsonNode property)
    {
        var resolved = property["$ref"] is not null ? Deref(property) : property.AsObject();
        return resolved["type"] switch
        {
            JsonArray many => many.Select(t => t!.GetValue<string>()).ToList(),
            JsonValue one => [one.GetValue<string>()],
            _ => resolved["properties"] is not null ? ["object"] : ["unknown"],
        };
    }

    private static JsonNode WrongValue(List<string> types) =>
        types.Contains("string") ? new JsonArray(1, 2)
        : types.Contains("integer") || types.Contains("number") ? JsonValue.Create("many")!
        : types.Contains("boolean") ? JsonValue.Create("yes")!
        : types.Contains("array") ? new JsonObject { ["a"] = 1 }
        : JsonValue.Create(12345)!;
}
