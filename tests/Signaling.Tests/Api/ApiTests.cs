using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MimeKit;

namespace Teletherapy.Signaling.Tests.Api;

public sealed partial class ApiTests : IAsyncLifetime
{
    private const string Password = "correct horse battery";
    // Within the staff cookie lifetime of a sign-in at T0, so moving the clock does not sign anyone out.
    private static readonly DateTimeOffset Start = ApiHost.T0.AddHours(5); // Mon 2 March 2026, 13:00 UTC

    private readonly ApiHost _host = new();
    private HttpClient _integrator = null!;

    public Task InitializeAsync()
    {
        _integrator = _host.Integrator();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private sealed record Setup(Guid TherapistId, string TherapistEmail, Guid PatientId, Guid PrimaryContactId);

    private async Task<Setup> SetUpClinicAsync()
    {
        (await _integrator.PutAsJsonAsync("/api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = true })).EnsureSuccessStatusCode();
        var email = $"ada.{Guid.NewGuid():N}@clinic.example";
        var staff = await _integrator.PostAsJsonAsync("/api/v1/staff", new { name = "Dr. Ada Weber", email, password = Password });
        Assert.Equal(HttpStatusCode.Created, staff.StatusCode);
        var therapistId = (await staff.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var patient = await _integrator.PostAsJsonAsync("/api/v1/patients", new
        {
            name = "Mia Keller",
            contacts = new object[]
            {
                new { name = "Mia Keller", email = "mia@example.org", phone = (string?)null, isPrimary = true, emailReminders = false, smsReminders = false },
                new { name = "Tom Keller", email = "tom@example.org", phone = "+49 170 1", isPrimary = false, emailReminders = true, smsReminders = true },
            },
        });
        Assert.Equal(HttpStatusCode.Created, patient.StatusCode);
        var body = (await patient.Content.ReadFromJsonAsync<JsonObject>())!;
        var contacts = body["contacts"]!.AsArray();
        Assert.Equal(2, contacts.Count);
        return new Setup(therapistId, email, body["id"]!.GetValue<Guid>(), contacts[0]!["id"]!.GetValue<Guid>());
    }

    private async Task<JsonObject> CreateAppointmentAsync(Setup setup, object? repeat = null)
    {
        var response = await _integrator.PostAsJsonAsync("/api/v1/appointments", new
        {
            patientId = setup.PatientId,
            therapistIds = new[] { setup.TherapistId },
            start = Start,
            durationMinutes = 50,
            teletherapy = true,
            repeat,
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string reason)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(reason, problem["reason"]?.GetValue<string>());
        return problem;
    }

    private async Task<string> JoinTokenFromOutboxAsync(string recipient)
    {
        // Emails go to outbox/*.eml (no SMTP configured); the sender is woken by each commit.
        var folder = Path.Combine(_host.DataPath, "outbox");
        for (var i = 0; i < 200; i++)
        {
            if (Directory.Exists(folder))
            {
                foreach (var file in Directory.GetFiles(folder, "*.eml"))
                {
                    var message = await MimeMessage.LoadAsync(file);
                    if (message.To.Mailboxes.Single().Address == recipient && JoinLink().Match(message.TextBody ?? "") is { Success: true } match)
                    {
                        return match.Groups[1].Value;
                    }
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No email to {recipient} appeared in {folder}.");
    }

    [GeneratedRegex("/join/([A-Za-z0-9_-]+)")]
    private static partial Regex JoinLink();

    [Fact]
    public async Task Anonymous_requests_get_401_problem_not_a_redirect()
    {
        var anonymous = _host.Anonymous();
        await ProblemAsync(await anonymous.GetAsync("/api/v1/appointments"), HttpStatusCode.Unauthorized, "unauthorized");
        await ProblemAsync(await anonymous.PostAsJsonAsync("/api/v1/appointments/00000000-0000-0000-0000-000000000001/join", new { }), HttpStatusCode.Unauthorized, "unauthorized");
        var wrongKey = _host.Anonymous();
        wrongKey.DefaultRequestHeaders.Add("X-Api-Key", "nope");
        await ProblemAsync(await wrongKey.GetAsync("/api/v1/clinic"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Create_appointment_then_calendar_login_and_join_rules()
    {
        var setup = await SetUpClinicAsync();
        var clinic = await _integrator.GetFromJsonAsync<JsonObject>("/api/v1/clinic");
        Assert.Equal("Europe/Berlin", clinic!["timeZone"]!.GetValue<string>());

        var created = await CreateAppointmentAsync(setup);
        var id = created["id"]!.GetValue<Guid>();
        Assert.Single(created["occurrences"]!.AsArray());

        await ProblemAsync(await _host.Anonymous().PostAsJsonAsync("/api/v1/auth/login", new { email = setup.TherapistEmail, password = "wrong password" }), HttpStatusCode.Unauthorized, "invalid-credentials");
        var therapist = await _host.StaffAsync(setup.TherapistEmail, Password);
        var calendar = await therapist.GetFromJsonAsync<JsonArray>($"/api/v1/appointments?from={Uri.EscapeDataString(ApiHost.T0.ToString("O"))}&to={Uri.EscapeDataString(ApiHost.T0.AddDays(7).ToString("O"))}");
        var entry = Assert.Single(calendar!);
        Assert.Equal(id, entry!["id"]!.GetValue<Guid>());
        Assert.Equal("Mia Keller", entry["patientName"]!.GetValue<string>());
        Assert.False(entry["canJoin"]!.GetValue<bool>());
        Assert.Equal("too-early", entry["joinRefusedReason"]!.GetValue<string>());
        Assert.Equal(Start.AddMinutes(-10), entry["opensAt"]!.GetValue<DateTimeOffset>());
        Assert.EndsWith("+00:00", entry["start"]!.GetValue<string>());

        _host.Time.SetUtcNow(Start - TimeSpan.FromSeconds(601));
        var early = await ProblemAsync(await therapist.PostAsync($"/api/v1/appointments/{id}/join", null), HttpStatusCode.Conflict, "too-early");
        Assert.Equal(Start.AddMinutes(-10), early["opensAt"]!.GetValue<DateTimeOffset>());

        _host.Time.SetUtcNow(Start - TimeSpan.FromMinutes(10));
        var joined = await therapist.PostAsync($"/api/v1/appointments/{id}/join", null);
        Assert.Equal(HttpStatusCode.OK, joined.StatusCode);
        Assert.Equal($"/session/{id}", (await joined.Content.ReadFromJsonAsync<JsonObject>())!["sessionUrl"]!.GetValue<string>());

        // R1: another staff member is refused, and the attempt is audited.
        var otherEmail = $"other.{Guid.NewGuid():N}@clinic.example";
        (await _integrator.PostAsJsonAsync("/api/v1/staff", new { name = "Dr. Other", email = otherEmail, password = Password })).EnsureSuccessStatusCode();
        var other = await _host.StaffAsync(otherEmail, Password);
        await ProblemAsync(await other.PostAsync($"/api/v1/appointments/{id}/join", null), HttpStatusCode.Forbidden, "not-listed");
        await ProblemAsync(await therapist.PostAsync($"/api/v1/appointments/{Guid.NewGuid()}/join", null), HttpStatusCode.NotFound, "not-found");

        // An API key is not a therapist.
        Assert.Equal(HttpStatusCode.Forbidden, (await _integrator.PostAsync($"/api/v1/appointments/{id}/join", null)).StatusCode);

        var audit = await _integrator.GetFromJsonAsync<JsonArray>($"/api/v1/appointments/{id}/audit");
        Assert.Equal(["too-early", "not-listed"], audit!.Where(e => e!["kind"]!.GetValue<string>() == "join-refused").Select(e => e!["reason"]!.GetValue<string>()));
        var minutes = await _integrator.GetFromJsonAsync<JsonObject>($"/api/v1/appointments/{id}/minutes");
        Assert.Equal(0, minutes!["minutes"]!.GetValue<double>());

        _host.Time.SetUtcNow(Start.AddMinutes(50).AddMinutes(60));
        await ProblemAsync(await therapist.PostAsync($"/api/v1/appointments/{id}/join", null), HttpStatusCode.Conflict, "ended");

        (await therapist.PostAsync("/api/v1/auth/logout", null)).EnsureSuccessStatusCode();
        await ProblemAsync(await therapist.PostAsync($"/api/v1/appointments/{id}/join", null), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Join_link_resolution_reschedule_and_cancel()
    {
        var setup = await SetUpClinicAsync();
        var id = (await CreateAppointmentAsync(setup))["id"]!.GetValue<Guid>();
        var token = await JoinTokenFromOutboxAsync("mia@example.org");
        var anonymous = _host.Anonymous();

        var resolved = await anonymous.GetFromJsonAsync<JsonObject>($"/api/v1/join/{token}");
        Assert.Equal(id, resolved!["appointmentId"]!.GetValue<Guid>());
        Assert.Equal("waiting", resolved["status"]!.GetValue<string>());
        Assert.Equal(Start.AddMinutes(-10), resolved["opensAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal(Start, resolved["start"]!.GetValue<DateTimeOffset>());
        _host.Time.SetUtcNow(Start.AddMinutes(-10));
        Assert.Equal("open", (await anonymous.GetFromJsonAsync<JsonObject>($"/api/v1/join/{token}"))!["status"]!.GetValue<string>());
        await ProblemAsync(await anonymous.GetAsync("/api/v1/join/not-a-real-token-but-long-enough-xxxxxxxxxx"), HttpStatusCode.NotFound, "not-found");

        var moved = await _integrator.PutAsJsonAsync($"/api/v1/appointments/{id}", new { start = Start.AddDays(1), durationMinutes = 50 });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        await ProblemAsync(await anonymous.GetAsync($"/api/v1/join/{token}"), HttpStatusCode.Gone, "link-revoked");

        var audit = await _integrator.GetFromJsonAsync<JsonArray>($"/api/v1/appointments/{id}/audit");
        Assert.Equal(2, audit!.Count(e => e!["kind"]!.GetValue<string>() == "link-opened"));

        (await _integrator.PostAsync($"/api/v1/appointments/{id}/cancel", null)).EnsureSuccessStatusCode();
        await ProblemAsync(await _integrator.PutAsJsonAsync($"/api/v1/appointments/{id}", new { start = Start.AddDays(2), durationMinutes = 50 }), HttpStatusCode.BadRequest, "validation");
        await ProblemAsync(await _integrator.PostAsync($"/api/v1/appointments/{Guid.NewGuid()}/cancel", null), HttpStatusCode.NotFound, "not-found");
        await ProblemAsync(await _integrator.PutAsJsonAsync($"/api/v1/appointments/{Guid.NewGuid()}", new { start = Start, durationMinutes = 50 }), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Link_of_a_cancelled_appointment_is_gone_with_cancelled_and_expired_links_with_link_expired()
    {
        var setup = await SetUpClinicAsync();
        var first = (await CreateAppointmentAsync(setup))["id"]!.GetValue<Guid>();
        var token = await JoinTokenFromOutboxAsync("mia@example.org");
        var anonymous = _host.Anonymous();
        _host.Time.SetUtcNow(Start.AddMinutes(50 + 60));
        await ProblemAsync(await anonymous.GetAsync($"/api/v1/join/{token}"), HttpStatusCode.Gone, "link-expired");
        (await _integrator.PostAsync($"/api/v1/appointments/{first}/cancel", null)).EnsureSuccessStatusCode();
        await ProblemAsync(await anonymous.GetAsync($"/api/v1/join/{token}"), HttpStatusCode.Gone, "cancelled");
    }

    public static TheoryData<string, string> BadAppointments() => new()
    {
        { """{"patientId":"00000000-0000-0000-0000-000000000009","therapistIds":["{T}"],"start":"2026-03-02T13:00:00+00:00","durationMinutes":50}""", "patientId" },
        { """{"patientId":"{P}","therapistIds":["00000000-0000-0000-0000-000000000009"],"start":"2026-03-02T13:00:00+00:00","durationMinutes":50}""", "therapistIds[0]" },
        { """{"patientId":"{P}","therapistIds":["{T}"],"start":"2026-03-02T13:00:00+00:00","end":"2026-03-02T12:00:00+00:00"}""", "end" },
        { """{"patientId":"{P}","therapistIds":["{T}"],"start":"2026-03-02T13:00:00+00:00","durationMinutes":50,"repeat":{"count":0,"intervalDays":7}}""", "repeat.count" },
        { """{"patientId":"{P}","therapistIds":["{T}"],"start":"2026-03-02T13:00:00+00:00","durationMinutes":50,"repeat":{"count":500,"intervalDays":7}}""", "repeat.count" },
        { """{"patientId":"{P}","therapistIds":["{T}"],"start":"not a time","durationMinutes":50}""", "start" },
        { """{"patientId":"{P}","therapistIds":[],"start":"2026-03-02T13:00:00+00:00","durationMinutes":50}""", "therapistIds" },
    };

    [Theory]
    [MemberData(nameof(BadAppointments))]
    public async Task Bad_appointment_input_is_400_with_the_field_and_nothing_is_saved(string template, string field)
    {
        var setup = await SetUpClinicAsync();
        var json = template.Replace("{P}", setup.PatientId.ToString(), StringComparison.Ordinal).Replace("{T}", setup.TherapistId.ToString(), StringComparison.Ordinal);
        var response = await _integrator.PostAsync("/api/v1/appointments", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        Assert.Equal(field, problem["field"]!.GetValue<string>());
        Assert.NotNull(problem["errors"]![field]);

        var all = await _integrator.GetFromJsonAsync<JsonArray>("/api/v1/appointments?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z");
        Assert.Empty(all!);
    }

    [Fact]
    public async Task Other_validation_cases_name_the_field()
    {
        var tz = await ProblemAsync(await _integrator.PutAsJsonAsync("/api/v1/clinic", new { name = "X", timeZone = "Mars/Olympus", remindersEnabled = false }), HttpStatusCode.BadRequest, "validation");
        Assert.Equal("timeZone", tz["field"]!.GetValue<string>());
        await ProblemAsync(await _integrator.GetAsync("/api/v1/clinic"), HttpStatusCode.NotFound, "not-found");

        var setup = await SetUpClinicAsync();
        // One clinic per installation: there is no way to add another.
        Assert.Equal(HttpStatusCode.NotFound, (await _integrator.PostAsJsonAsync("/api/v1/clinics", new { name = "Elsewhere", timeZone = "Europe/Vienna", remindersEnabled = false })).StatusCode);
        var scheduler = await _integrator.PostAsJsonAsync("/api/v1/staff", new { name = "Front Desk", email = "desk@clinic.example", password = Password, role = "scheduler" });
        var schedulerId = (await scheduler.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var problem = await ProblemAsync(
            await _integrator.PostAsJsonAsync("/api/v1/appointments", new { patientId = setup.PatientId, therapistIds = new[] { schedulerId }, start = Start, durationMinutes = 50 }),
            HttpStatusCode.BadRequest,
            "validation");
        Assert.Equal("therapistIds[0]", problem["field"]!.GetValue<string>());

        var noPrimary = await _integrator.PostAsJsonAsync("/api/v1/patients", new { name = "No Primary", contacts = new[] { new { name = "C", email = "c@example.org", isPrimary = false, emailReminders = true, smsReminders = false } } });
        Assert.Equal(HttpStatusCode.Created, noPrimary.StatusCode);
        var noPrimaryId = (await noPrimary.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var missing = await ProblemAsync(
            await _integrator.PostAsJsonAsync("/api/v1/appointments", new { patientId = noPrimaryId, therapistIds = new[] { setup.TherapistId }, start = Start, durationMinutes = 50 }),
            HttpStatusCode.BadRequest,
            "validation");
        Assert.Equal("patientId", missing["field"]!.GetValue<string>());

        var duplicate = await ProblemAsync(await _integrator.PostAsJsonAsync("/api/v1/staff", new { name = "Again", email = setup.TherapistEmail, password = Password }), HttpStatusCode.BadRequest, "validation");
        Assert.Equal("email", duplicate["field"]!.GetValue<string>());
        var shortPassword = await ProblemAsync(await _integrator.PostAsJsonAsync("/api/v1/staff", new { name = "Short", email = "s@clinic.example", password = "123" }), HttpStatusCode.BadRequest, "validation");
        Assert.Equal("password", shortPassword["field"]!.GetValue<string>());
        var badRole = await ProblemAsync(await _integrator.PostAsJsonAsync("/api/v1/staff", new { name = "Role", email = "r@clinic.example", password = Password, role = "owner" }), HttpStatusCode.BadRequest, "validation");
        Assert.Equal("role", badRole["field"]!.GetValue<string>());
        var noContacts = await ProblemAsync(await _integrator.PostAsJsonAsync("/api/v1/patients", new { name = "Alone", contacts = Array.Empty<object>() }), HttpStatusCode.BadRequest, "validation");
        Assert.Equal("contacts", noContacts["field"]!.GetValue<string>());
        var nullContact = await ProblemAsync(
            await _integrator.PostAsync("/api/v1/patients", new StringContent("""{"name":"P","contacts":[null]}""", System.Text.Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest,
            "validation");
        Assert.Equal("contacts[0]", nullContact["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Series_returns_every_occurrence()
    {
        var setup = await SetUpClinicAsync();
        var created = await CreateAppointmentAsync(setup, new { count = 3, intervalDays = 7 });
        Assert.NotNull(created["seriesId"]?.GetValue<Guid>());
        var occurrences = created["occurrences"]!.AsArray();
        Assert.Equal(3, occurrences.Count);
        Assert.Equal(Start.AddDays(14), occurrences[2]!["start"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task Portal_sign_in_by_email_link_and_notification_from_10_minutes_before()
    {
        var setup = await SetUpClinicAsync();
        var id = (await CreateAppointmentAsync(setup))["id"]!.GetValue<Guid>();
        var contact = _host.Anonymous();
        Assert.Equal(HttpStatusCode.Accepted, (await contact.PostAsJsonAsync("/api/v1/portal/login-link", new { email = "nobody@example.org" })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await contact.PostAsJsonAsync("/api/v1/portal/login-link", new { email = "Tom@Example.org" })).StatusCode);
        await ProblemAsync(await contact.GetAsync("/api/v1/portal/notifications"), HttpStatusCode.Unauthorized, "unauthorized");

        var loginToken = await PortalTokenFromOutboxAsync("tom@example.org");
        var login = await contact.GetAsync($"/api/v1/portal/login/{loginToken}");
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/portal", login.Headers.Location?.ToString());
        var again = await _host.Anonymous().GetAsync($"/api/v1/portal/login/{loginToken}");
        Assert.Equal("/portal?login=expired", again.Headers.Location?.ToString());

        _host.Time.SetUtcNow(Start - TimeSpan.FromSeconds(601));
        Assert.Empty((await contact.GetFromJsonAsync<JsonArray>("/api/v1/portal/notifications"))!);
        await ProblemAsync(await contact.PostAsync($"/api/v1/portal/appointments/{id}/join", null), HttpStatusCode.Conflict, "too-early");
        _host.Time.SetUtcNow(Start - TimeSpan.FromMinutes(10));
        var notification = Assert.Single((await contact.GetFromJsonAsync<JsonArray>("/api/v1/portal/notifications"))!);
        Assert.Equal(id, notification!["appointmentId"]!.GetValue<Guid>());
        var join = await contact.PostAsync(notification["joinPath"]!.GetValue<string>(), null);
        Assert.Equal(HttpStatusCode.OK, join.StatusCode);
        var joinUrl = (await join.Content.ReadFromJsonAsync<JsonObject>())!["joinUrl"]!.GetValue<string>();
        var token = joinUrl[(joinUrl.LastIndexOf('/') + 1)..];
        Assert.Equal("open", (await contact.GetFromJsonAsync<JsonObject>($"/api/v1/join/{token}"))!["status"]!.GetValue<string>());
    }

    private async Task<string> PortalTokenFromOutboxAsync(string recipient)
    {
        var folder = Path.Combine(_host.DataPath, "outbox");
        for (var i = 0; i < 200; i++)
        {
            if (Directory.Exists(folder))
            {
                foreach (var file in Directory.GetFiles(folder, "*.eml"))
                {
                    var message = await MimeMessage.LoadAsync(file);
                    if (message.To.Mailboxes.Single().Address == recipient && PortalLink().Match(message.TextBody ?? "") is { Success: true } match)
                    {
                        return match.Groups[1].Value;
                    }
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No portal email to {recipient}.");
    }

    [GeneratedRegex("/api/v1/portal/login/([A-Za-z0-9_-]+)")]
    private static partial Regex PortalLink();

    [Fact]
    public async Task OpenApi_document_lists_the_scheduling_endpoints()
    {
        var document = await _host.Anonymous().GetFromJsonAsync<JsonObject>("/openapi/v1.json");
        var paths = document!["paths"]!.AsObject().Select(p => p.Key).ToList();
        foreach (var path in new[]
        {
            "/api/v1/clinic", "/api/v1/staff", "/api/v1/patients", "/api/v1/appointments", "/api/v1/appointments/{id}", "/api/v1/appointments/{id}/cancel",
            "/api/v1/appointments/{id}/join", "/api/v1/appointments/{id}/audit", "/api/v1/appointments/{id}/minutes", "/api/v1/join/{token}",
            "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/portal/login-link", "/api/v1/portal/notifications",
        })
        {
            Assert.Contains(path, paths);
        }

        Assert.Contains("CreateAppointment", JsonSerializer.Serialize(document));
    }
}
