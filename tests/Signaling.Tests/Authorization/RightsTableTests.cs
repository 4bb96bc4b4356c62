using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Teletherapy.Signaling.Tests.Authorization;

/// <summary>
/// The rights table of README: Roles and the practice pages against every REST endpoint: one row per endpoint, one expected outcome per
/// caller (anonymous, integrator, admin, scheduler, listed therapist, other therapist). The rows are checked against
/// the server's own endpoint list, so an endpoint added without a row fails this test.
/// </summary>
public sealed class RightsTableTests(RightsFixture fixture) : IClassFixture<RightsFixture>
{
    // Outcomes, in the order of Who: Anonymous Integrator Admin Scheduler Therapist OtherTherapist.
    // ok = 2xx/3xx; 401 = unauthorized; F = 403 forbidden; NL = 403 not-listed; a number = that status.
    private static readonly Rule[] Rules =
    [
        // Sign-in and setup are open to anyone.
        new("POST", "/api/v1/auth/login", f => Json(HttpMethod.Post, "api/v1/auth/login", new { email = $"nobody.{Guid.NewGuid():N}@clinic.example", password = "wrong password" }), "401 401 401 401 401 401"),
        new("POST", "/api/v1/auth/logout", f => Json(HttpMethod.Post, "api/v1/auth/logout", null), "ok ok ok ok ok ok"),
        new("GET", "/api/v1/auth/me", f => Get("api/v1/auth/me"), "401 F ok ok ok ok"),
        new("GET", "/api/v1/setup", f => Get("api/v1/setup"), "ok ok ok ok ok ok"),
        new("POST", "/api/v1/setup", f => Json(HttpMethod.Post, "api/v1/setup", new { clinicName = "Another", timeZone = "Europe/Berlin", name = "Mallory", email = "mallory@example.org", password = "a long password" }), "409 409 409 409 409 409"),

        // Clinic settings and staff accounts: admins.
        new("GET", "/api/v1/clinic", f => Get("api/v1/clinic"), "401 ok ok ok ok ok"),
        new("PUT", "/api/v1/clinic", f => Json(HttpMethod.Put, "api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = true }), "401 ok ok F F F"),
        new("GET", "/api/v1/staff", f => Get("api/v1/staff"), "401 ok ok F F F"),
        new("POST", "/api/v1/staff", f => Json(HttpMethod.Post, "api/v1/staff", new { name = "New", email = $"new.{Guid.NewGuid():N}@clinic.example", password = RightsFixture.Password, role = "therapist" }), "401 ok ok F F F"),
        new("PUT", "/api/v1/staff/{id:guid}", async f => await Json(HttpMethod.Put, $"api/v1/staff/{await f.AddStaffAsync("Target", $"t.{Guid.NewGuid():N}@clinic.example", "therapist")}", new { name = "Renamed" }), "401 ok ok F F F"),
        new("GET", "/api/v1/therapists", f => Get("api/v1/therapists"), "401 ok ok ok ok ok"),
        new("GET", "/api/v1/access-refusals", f => Get("api/v1/access-refusals"), "401 ok ok F F F"),
        new("GET", "/api/v1/audit", f => Get("api/v1/audit"), "401 ok ok F F F"),
        new("GET", "/api/v1/audit/verify", f => Get("api/v1/audit/verify"), "401 ok ok F F F"),
        // A single node has no cluster to hand rooms to: admins are told so (409), nobody else gets that far.
        new("POST", "/api/v1/admin/drain", f => Json(HttpMethod.Post, "api/v1/admin/drain", null), "401 409 409 F F F"),

        // Patients: admins and schedulers; therapists read their own.
        new("GET", "/api/v1/patients", f => Get("api/v1/patients?search=a"), "401 ok ok ok ok ok"),
        new("GET", "/api/v1/patients/{id:guid}", f => Get($"api/v1/patients/{f.PatientId}"), "401 ok ok ok ok NL"),
        new("POST", "/api/v1/patients", f => Json(HttpMethod.Post, "api/v1/patients", new { name = "Lea", contacts = new[] { new { name = "Lea", email = "lea@example.org", isPrimary = true } } }), "401 ok ok ok F F"),
        new("PUT", "/api/v1/patients/{id:guid}", f => Json(HttpMethod.Put, $"api/v1/patients/{f.PatientId}", new { name = "Mia Keller", contacts = new[] { new { name = "Mia Keller", isPrimary = true } } }), "401 ok ok ok F F"),

        // Appointments: admins and schedulers all; therapists those they are listed on.
        new("POST", "/api/v1/appointments", f => Json(HttpMethod.Post, "api/v1/appointments", new { patientId = f.PatientId, therapistIds = new[] { f.IdOf(Who.Therapist) }, start = f.Server.Time.GetUtcNow().AddDays(2), durationMinutes = 50 }), "401 ok ok ok ok NL"),
        new("GET", "/api/v1/appointments", f => Get("api/v1/appointments"), "401 ok ok ok ok ok"),
        new("GET", "/api/v1/appointments/{id:guid}", f => Get($"api/v1/appointments/{f.AppointmentId}"), "401 ok ok ok ok NL"),
        new("PUT", "/api/v1/appointments/{id:guid}", async f => await Json(HttpMethod.Put, $"api/v1/appointments/{await f.AddAppointmentAsync(f.PatientId)}", new { start = f.Server.Time.GetUtcNow().AddDays(3), durationMinutes = 45 }), "401 ok ok ok ok NL"),
        new("POST", "/api/v1/appointments/{id:guid}/cancel", async f => await Json(HttpMethod.Post, $"api/v1/appointments/{await f.AddAppointmentAsync(f.PatientId)}/cancel", null), "401 ok ok ok ok NL"),
        new("POST", "/api/v1/appointments/{id:guid}/join", f => Json(HttpMethod.Post, $"api/v1/appointments/{f.AppointmentId}/join", null), "401 F NL F ok NL"),
        new("GET", "/api/v1/appointments/{id:guid}/emails", f => Get($"api/v1/appointments/{f.AppointmentId}/emails"), "401 ok ok ok ok NL"),
        new("GET", "/api/v1/appointments/{id:guid}/audit", f => Get($"api/v1/appointments/{f.AppointmentId}/audit"), "401 ok ok F ok NL"),
        new("GET", "/api/v1/appointments/{id:guid}/minutes", f => Get($"api/v1/appointments/{f.AppointmentId}/minutes"), "401 ok ok ok ok NL"),
        new("GET", "/api/v1/appointments/{id:guid}/waiting", f => Get($"api/v1/appointments/{f.AppointmentId}/waiting"), "401 F NL F ok NL"),

        // Patients' and the public's doors: the join link, the portal, the connection test, ICE servers.
        new("GET", "/api/v1/join/{token}", f => Get("api/v1/join/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "404 404 404 404 404 404"),
        new("POST", "/api/v1/portal/login-link", f => Json(HttpMethod.Post, "api/v1/portal/login-link", new { email = "nobody@example.org" }), "202 202 202 202 202 202"),
        new("GET", "/api/v1/portal/login/{token}", f => Get("api/v1/portal/login/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "302 302 302 302 302 302"),
        new("GET", "/api/v1/portal/notifications", f => Get("api/v1/portal/notifications"), "401 F F F F F"),
        new("POST", "/api/v1/portal/appointments/{id:guid}/join", f => Json(HttpMethod.Post, $"api/v1/portal/appointments/{f.AppointmentId}/join", null), "401 F F F F F"),
        new("POST", "/api/v1/check", f => Json(HttpMethod.Post, "api/v1/check", new { offer = "not sdp" }), "400 400 400 400 400 400"),
        new("GET", "/api/v1/check/{id}", f => Get("api/v1/check/unknown"), "404 404 404 404 404 404"),
        new("GET", "/api/v1/ice-servers", f => Get("api/v1/ice-servers"), "401 F ok ok ok ok"),
        new("POST", "/api/v1/csp-reports", f => Json(HttpMethod.Post, "api/v1/csp-reports", new Dictionary<string, object> { ["csp-report"] = new Dictionary<string, string> { ["effective-directive"] = "script-src-elem" } }), "204 204 204 204 204 204"),
    ];

    [Fact]
    public void Every_REST_endpoint_has_a_row_in_the_rights_table()
    {
        var endpoints = fixture.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => $"{m} {e.RoutePattern.RawText!.TrimEnd('/')}"))
            .Order().ToList();
        var rows = Rules.Select(r => $"{r.Method} {r.Route}").Order().ToList();
        Assert.Equal(rows.Distinct().Count(), rows.Count);
        Assert.Equal(endpoints, rows);
    }

    public static TheoryData<string> RuleNames() => [.. Rules.Select(r => $"{r.Method} {r.Route}")];

    [Theory]
    [MemberData(nameof(RuleNames))]
    public async Task Each_caller_gets_what_the_rights_table_says(string name)
    {
        var rule = Rules.Single(r => $"{r.Method} {r.Route}" == name);
        var expected = rule.Expect.Split(' ');
        var failures = new List<string>();
        foreach (var who in Enum.GetValues<Who>())
        {
            using var client = fixture.ClientFor(who);
            using var request = await rule.Request(fixture);
            using var response = await client.SendAsync(request);
            var outcome = await OutcomeAsync(response);
            var want = expected[(int)who];
            if (!Matches(want, outcome))
            {
                failures.Add($"{who}: expected {want}, got {outcome.Status} {outcome.Reason}");
            }
        }

        Assert.True(failures.Count == 0, $"{name}: " + string.Join("; ", failures));
    }

    [Fact]
    public async Task Refused_reads_of_patient_data_are_in_the_access_log()
    {
        using var other = fixture.ClientFor(Who.OtherTherapist);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync($"api/v1/appointments/{fixture.AppointmentId}/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync($"api/v1/patients/{fixture.OtherPatientId}")).StatusCode);
        using var admin = fixture.ClientFor(Who.Admin);
        var log = (await admin.GetFromJsonAsync<JsonArray>("api/v1/access-refusals"))!;
        var mine = log.Where(e => e!["actorId"]?.GetValue<Guid>() == fixture.IdOf(Who.OtherTherapist)).ToList();
        Assert.Contains(mine, e => e!["resourceKind"]!.GetValue<string>() == "appointment" && e["resourceId"]!.GetValue<Guid>() == fixture.AppointmentId
            && e["action"]!.GetValue<string>() == "read-audit" && e["reason"]!.GetValue<string>() == "not-listed");
        Assert.Contains(mine, e => e!["resourceKind"]!.GetValue<string>() == "patient" && e["resourceId"]!.GetValue<Guid>() == fixture.OtherPatientId
            && e["action"]!.GetValue<string>() == "read");
    }

    [Fact]
    public async Task Lists_are_scoped_to_what_a_therapist_may_see()
    {
        using var therapist = fixture.ClientFor(Who.Therapist);
        using var other = fixture.ClientFor(Who.OtherTherapist);
        using var scheduler = fixture.ClientFor(Who.Scheduler);
        var patients = (await therapist.GetFromJsonAsync<JsonArray>("api/v1/patients"))!.Select(p => p!["id"]!.GetValue<Guid>()).ToList();
        Assert.Contains(fixture.PatientId, patients);
        Assert.DoesNotContain(fixture.OtherPatientId, patients);
        Assert.Empty((await other.GetFromJsonAsync<JsonArray>("api/v1/patients"))!);
        Assert.Contains(fixture.OtherPatientId, (await scheduler.GetFromJsonAsync<JsonArray>("api/v1/patients"))!.Select(p => p!["id"]!.GetValue<Guid>()));

        var range = $"from={Uri.EscapeDataString(fixture.Server.Time.GetUtcNow().AddHours(-1).ToString("O"))}&to={Uri.EscapeDataString(fixture.Server.Time.GetUtcNow().AddHours(2).ToString("O"))}";
        Assert.Contains(fixture.AppointmentId, (await therapist.GetFromJsonAsync<JsonArray>($"api/v1/appointments?{range}"))!.Select(a => a!["id"]!.GetValue<Guid>()));
        // A therapist's calendar is their own, whatever they ask for.
        Assert.Empty((await other.GetFromJsonAsync<JsonArray>($"api/v1/appointments?{range}&therapistId={fixture.IdOf(Who.Therapist)}"))!);
        var all = (await scheduler.GetFromJsonAsync<JsonArray>($"api/v1/appointments?{range}"))!;
        var entry = Assert.Single(all, a => a!["id"]!.GetValue<Guid>() == fixture.AppointmentId)!;
        Assert.False(entry["canJoin"]!.GetValue<bool>());
        Assert.Equal("forbidden", entry["joinRefusedReason"]!.GetValue<string>());
        Assert.Empty((await scheduler.GetFromJsonAsync<JsonArray>($"api/v1/appointments?{range}&therapistId={fixture.IdOf(Who.OtherTherapist)}"))!);
    }

    [Fact]
    public async Task A_therapist_cannot_list_themselves_on_someone_elses_appointment()
    {
        using var other = fixture.ClientFor(Who.OtherTherapist);
        var steal = await other.PutAsJsonAsync($"api/v1/appointments/{fixture.AppointmentId}", new
        {
            start = fixture.Server.Time.GetUtcNow().AddMinutes(5),
            durationMinutes = 50,
            therapistIds = new[] { fixture.IdOf(Who.OtherTherapist) },
        });
        Assert.Equal("not-listed", (await OutcomeAsync(steal)).Reason);
        // Nor book the patient of a colleague with themselves listed.
        var book = await other.PostAsJsonAsync("api/v1/appointments", new
        {
            patientId = fixture.PatientId,
            therapistIds = new[] { fixture.IdOf(Who.OtherTherapist) },
            start = fixture.Server.Time.GetUtcNow().AddDays(1),
            durationMinutes = 50,
        });
        Assert.Equal((HttpStatusCode.Forbidden, "not-listed"), (book.StatusCode, (await OutcomeAsync(book)).Reason));
        using var admin = fixture.ClientFor(Who.Admin);
        var appointment = (await admin.GetFromJsonAsync<JsonObject>($"api/v1/appointments/{fixture.AppointmentId}"))!;
        Assert.Equal([fixture.IdOf(Who.Therapist)], appointment["therapistIds"]!.AsArray().Select(t => t!.GetValue<Guid>()));
    }

    private static bool Matches(string want, (int Status, string? Reason) got) => want switch
    {
        "ok" => got.Status is >= 200 and < 400,
        "F" => got.Status == 403 && got.Reason == "forbidden",
        "NL" => got.Status == 403 && got.Reason == "not-listed",
        _ => got.Status == int.Parse(want, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task<(int Status, string? Reason)> OutcomeAsync(HttpResponseMessage response)
    {
        string? reason = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            reason = (await response.Content.ReadFromJsonAsync<JsonObject>())?["reason"]?.GetValue<string>();
        }

        return ((int)response.StatusCode, reason);
    }

    private static Task<HttpRequestMessage> Get(string url) => Task.FromResult(new HttpRequestMessage(HttpMethod.Get, url));

    private static Task<HttpRequestMessage> Json(HttpMethod method, string url, object? body) =>
        Task.FromResult(new HttpRequestMessage(method, url)
        {
            Content = body is null ? null : new StringContent(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        });

    private sealed record Rule(string Method, string Route, Func<RightsFixture, Task<HttpRequestMessage>> Request, string Expect);
}
