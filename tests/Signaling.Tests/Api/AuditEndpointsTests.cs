using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Signaling.Api;
using Teletherapy.Signaling.Hosting;

namespace Teletherapy.Signaling.Tests.Api;

/// <summary>
/// <c>GET /api/v1/audit</c> and <c>GET /api/v1/audit/verify</c>: admins and integrators only, ids only, paged, and the
/// verification naming the row changed behind the server's back. The server is the real one (SQLite, in memory over
/// TestServer).
/// </summary>
public sealed class AuditEndpointsTests : IAsyncLifetime
{
    private const string ApiKey = "audit-tests-key";
    private const string Password = "correct horse battery";

    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "teletherapy-audit-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero));
    private WebApplication _app = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataPath);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            ApplicationName = typeof(Program).Assembly.GetName().Name,
        });
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Teletherapy:DataPath"] = _dataPath,
            ["Teletherapy:Demo"] = "false",
            ["Teletherapy:ApiKeys:0"] = ApiKey,
            ["Teletherapy:PublicBaseUrl"] = "https://clinic.example",
            ["Media:UdpPort"] = "0",
            ["Media:TcpPort"] = "0",
            ["Media:BindAddress"] = "127.0.0.1",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddTeletherapy();
        builder.Services.AddSingleton<TimeProvider>(_time);
        _app = builder.Build();
        _app.UseTeletherapy();
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_dataPath, recursive: true);
        }
        catch (IOException)
        {
            // left for the temp cleaner
        }
    }

    private HttpClient Client(string? apiKey = null)
    {
        var client = _app.GetTestClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return client;
    }

    private async Task<Guid> AddStaffAsync(string email, string role)
    {
        var response = await Client(ApiKey).PostAsJsonAsync("/api/v1/staff", new { name = $"Staff {role}", email, password = Password, role });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    /// <summary>A client carrying the staff cookie of a sign-in (TestServer's client keeps no cookies itself).</summary>
    private async Task<HttpClient> SignedInAsync(string email)
    {
        var login = await Client().PostAsJsonAsync("/api/v1/auth/login", new { email, password = Password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var client = Client();
        client.DefaultRequestHeaders.Add("Cookie", string.Join("; ", login.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0])));
        return client;
    }

    private async Task SetUpClinicAsync() =>
        (await Client(ApiKey).PutAsJsonAsync("/api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = false })).EnsureSuccessStatusCode();

    [Fact]
    public async Task Only_admins_and_integrators_read_the_trail_or_verify_it()
    {
        await SetUpClinicAsync();
        await AddStaffAsync("admin@clinic.example", "admin");
        await AddStaffAsync("desk@clinic.example", "scheduler");
        await AddStaffAsync("ada@clinic.example", "therapist");
        var callers = new (string Who, HttpClient Client, HttpStatusCode Expected)[]
        {
            ("anonymous", Client(), HttpStatusCode.Unauthorized),
            ("wrong key", Client("not-the-key"), HttpStatusCode.Unauthorized),
            ("integrator", Client(ApiKey), HttpStatusCode.OK),
            ("admin", await SignedInAsync("admin@clinic.example"), HttpStatusCode.OK),
            ("scheduler", await SignedInAsync("desk@clinic.example"), HttpStatusCode.Forbidden),
            ("therapist", await SignedInAsync("ada@clinic.example"), HttpStatusCode.Forbidden),
        };
        foreach (var (who, client, expected) in callers)
        {
            foreach (var path in new[] { "/api/v1/audit", "/api/v1/audit/verify" })
            {
                var response = await client.GetAsync(path);
                Assert.True(expected == response.StatusCode, $"{who} {path}: {response.StatusCode}");
                if (expected != HttpStatusCode.OK)
                {
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                }
            }
        }
    }

    [Fact]
    public async Task The_trail_lists_who_did_what_to_which_id_newest_first_in_pages()
    {
        await SetUpClinicAsync();
        var first = await AddStaffAsync("ada@clinic.example", "therapist");
        var second = await AddStaffAsync("ben@clinic.example", "therapist");
        var trail = _app.Services.GetRequiredService<SecurityAudit>();
        await trail.RecordAsync(SecurityEvent.SignInFailed("nobody@example.org"));
        var api = Client(ApiKey);

        var page = (await api.GetFromJsonAsync<JsonObject>("/api/v1/audit?limit=2"))!;
        var items = page["items"]!.AsArray();
        Assert.Equal(2, items.Count);
        Assert.Equal("sign-in-failed", items[0]!["kind"]!.GetValue<string>());
        Assert.Equal("anonymous", items[0]!["actorKind"]!.GetValue<string>());
        Assert.StartsWith("email-hmac=", items[0]!["detail"]!.GetValue<string>());
        Assert.Equal(("staff-changed", second), (items[1]!["kind"]!.GetValue<string>(), items[1]!["subjectId"]!.GetValue<Guid>()));
        var next = page["nextBefore"]!.GetValue<long>();

        var rest = (await api.GetFromJsonAsync<JsonObject>($"/api/v1/audit?before={next}&kind=staff-changed"))!;
        var older = Assert.Single(rest["items"]!.AsArray());
        Assert.Equal(first, older!["subjectId"]!.GetValue<Guid>());
        Assert.Equal("created", older["action"]!.GetValue<string>());
        Assert.Null(rest["nextBefore"]);

        var window = (await api.GetFromJsonAsync<JsonObject>("/api/v1/audit?from=2026-03-02T08:00:00Z&to=2026-03-02T08:00:01Z&kind=clinic-changed"))!;
        Assert.Single(window["items"]!.AsArray());
        var empty = (await api.GetFromJsonAsync<JsonObject>("/api/v1/audit?from=2026-03-03T00:00:00Z"))!;
        Assert.Empty(empty["items"]!.AsArray());

        // Ids only: no name or email of anybody in what the trail hands out.
        var everything = await api.GetStringAsync("/api/v1/audit?limit=1000");
        foreach (var personal in new[] { "ada@", "ben@", "nobody@", "Staff therapist", "Lindenhof" })
        {
            Assert.DoesNotContain(personal, everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Sign_ins_patient_reads_and_changes_made_through_the_api_are_on_the_trail_with_their_actor()
    {
        using var integrator = Client(ApiKey);
        (await integrator.PutAsJsonAsync("/api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = false })).EnsureSuccessStatusCode();
        var admin = (await (await integrator.PostAsJsonAsync("/api/v1/staff", new { name = "Alex", email = "alex@clinic.example", password = Password, role = "admin" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        using var staff = Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await staff.PostAsJsonAsync("/api/v1/auth/login", new { email = "alex@clinic.example", password = "wrong password" })).StatusCode);
        var login = await staff.PostAsJsonAsync("/api/v1/auth/login", new { email = "alex@clinic.example", password = Password });
        login.EnsureSuccessStatusCode();
        var cookie = login.Headers.GetValues("Set-Cookie").First().Split(';')[0];
        staff.DefaultRequestHeaders.Add("Cookie", cookie);
        var patient = (await (await staff.PostAsJsonAsync("/api/v1/patients", new { name = "Lea Keller", contacts = new[] { new { name = "Lea Keller", email = "lea@example.org", isPrimary = true } } })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        (await staff.GetAsync($"/api/v1/patients/{patient}")).EnsureSuccessStatusCode();
        (await staff.GetAsync("/api/v1/patients?search=Lea")).EnsureSuccessStatusCode();

        var trail = (await staff.GetFromJsonAsync<JsonObject>("/api/v1/audit"))!["items"]!.AsArray()
            .Select(e => (Kind: e!["kind"]!.GetValue<string>(), Actor: e["actorId"]?.GetValue<Guid>(), Subject: e["subjectId"]?.GetValue<Guid>())).ToList();

        Assert.Contains(trail, e => e.Kind == SecurityEventKinds.SignInFailed);
        Assert.Contains(trail, e => e.Kind == SecurityEventKinds.SignIn && e.Actor == admin);
        Assert.Contains(trail, e => e.Kind == SecurityEventKinds.PatientChanged && e.Actor == admin && e.Subject == patient);
        Assert.Contains(trail, e => e.Kind == SecurityEventKinds.PatientRead && e.Actor == admin && e.Subject == patient);
        Assert.Contains(trail, e => e.Kind == SecurityEventKinds.PatientSearch && e.Actor == admin);
        Assert.Contains(trail, e => e.Kind == SecurityEventKinds.StaffChanged && e.Subject == admin);
        Assert.Contains(trail, e => e.Kind == SecurityEventKinds.ClinicChanged);
        var text = await staff.GetStringAsync("/api/v1/audit");
        Assert.DoesNotContain("lea@example.org", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Keller", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("alex@clinic.example", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Bad_filters_are_refused_with_the_field_named()
    {
        var api = Client(ApiKey);
        foreach (var (query, field) in new[] { ("kind=everything", "kind"), ("limit=0", "limit"), ("limit=5000", "limit"), ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from"), ("before=0", "before") })
        {
            var response = await api.GetAsync($"/api/v1/audit?{query}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.Equal("validation", problem["reason"]!.GetValue<string>());
            Assert.Equal(field, problem["field"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/audit?from=yesterday")).StatusCode);
    }

    [Fact]
    public async Task Verify_reports_an_intact_chain_and_after_tampering_the_id_of_the_changed_row()
    {
        await SetUpClinicAsync();
        await AddStaffAsync("ada@clinic.example", "therapist");
        await AddStaffAsync("ben@clinic.example", "therapist");
        var api = Client(ApiKey);

        var intact = (await api.GetFromJsonAsync<JsonObject>("/api/v1/audit/verify"))!;
        Assert.True(intact["intact"]!.GetValue<bool>());
        Assert.Equal(3, intact["checkedRows"]!.GetValue<long>());
        Assert.Equal(3, intact["headId"]!.GetValue<long>());
        Assert.Matches("^[0-9a-f]{64}$", intact["headHash"]!.GetValue<string>());
        Assert.Null(intact["firstBrokenId"]);

        // An attacker with the database file drops the trigger and rewrites which account was added.
        await using (var connection = await _app.Services.GetRequiredService<Database>().OpenAsync())
        {
            await connection.ExecuteAsync("DROP TRIGGER security_events_no_update");
            await connection.ExecuteAsync("UPDATE security_events SET subject_id = @other WHERE id = 2", new { other = Guid.NewGuid() });
        }

        var broken = (await api.GetFromJsonAsync<JsonObject>("/api/v1/audit/verify"))!;
        Assert.False(broken["intact"]!.GetValue<bool>());
        Assert.Equal(2, broken["firstBrokenId"]!.GetValue<long>());
        Assert.Equal("content-changed", broken["problem"]!.GetValue<string>());
    }
}
