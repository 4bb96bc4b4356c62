using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MimeKit;

namespace Teletherapy.Signaling.Tests.Api;

/// <summary>The first-run setup of a new installation, and editing patients and their contacts.</summary>
public sealed class SetupAndPatientsTests : IAsyncLifetime
{
    private readonly ApiHost _host = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static object Setup(string email) =>
        new { clinicName = "Praxis am See", timeZone = "Europe/Zurich", name = "Dr. Vera Lang", email, password = "a long password" };

    [Fact]
    public async Task Setup_is_offered_until_the_first_account_exists_then_gone_for_good()
    {
        var anonymous = _host.Anonymous();
        Assert.True((await anonymous.GetFromJsonAsync<JsonObject>("/api/v1/setup"))!["required"]!.GetValue<bool>());

        var invalid = await anonymous.PostAsJsonAsync("/api/v1/setup", new { clinicName = "", timeZone = "Mars/Olympus", name = "V", email = "nope", password = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject().Select(e => e.Key).Order();
        Assert.Equal(["clinicName", "email", "password", "timeZone"], errors);
        Assert.True((await anonymous.GetFromJsonAsync<JsonObject>("/api/v1/setup"))!["required"]!.GetValue<bool>());

        // Several at the same moment: exactly one becomes the admin.
        var attempts = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => _host.Anonymous().PostAsJsonAsync("/api/v1/setup", Setup($"vera{i}@see.example"))));
        var created = Assert.Single(attempts, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(attempts.Where(r => r != created), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        Assert.Equal("already-set-up", (await attempts.First(r => r != created).Content.ReadFromJsonAsync<JsonObject>())!["reason"]!.GetValue<string>());

        var admin = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("admin", admin["role"]!.GetValue<string>());
        var signedIn = await _host.StaffAsync(admin["email"]!.GetValue<string>(), "a long password");
        var clinic = (await signedIn.GetFromJsonAsync<JsonObject>("/api/v1/clinic"))!;
        Assert.Equal(("Praxis am See", "Europe/Zurich"), (clinic["name"]!.GetValue<string>(), clinic["timeZone"]!.GetValue<string>()));
        Assert.Single((await signedIn.GetFromJsonAsync<JsonArray>("/api/v1/staff"))!);

        Assert.False((await anonymous.GetFromJsonAsync<JsonObject>("/api/v1/setup"))!["required"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.Conflict, (await anonymous.PostAsJsonAsync("/api/v1/setup", Setup("mallory@example.org"))).StatusCode);
        Assert.Single((await signedIn.GetFromJsonAsync<JsonArray>("/api/v1/staff"))!);
    }

    [Fact]
    public async Task Editing_a_patient_updates_adds_and_removes_contacts_and_a_removed_contact_loses_its_links()
    {
        var setup = await _host.Anonymous().PostAsJsonAsync("/api/v1/setup", Setup("vera@see.example"));
        Assert.Equal(HttpStatusCode.Created, setup.StatusCode);
        var adminId = (await setup.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var admin = await _host.StaffAsync("vera@see.example", "a long password");
        var added = await admin.PostAsJsonAsync("/api/v1/patients", new
        {
            name = "Emil Frei",
            contacts = new object[]
            {
                new { name = "Emil Frei", email = "emil@example.org", isPrimary = true, emailReminders = false, smsReminders = false },
                new { name = "Anna Frei", email = "anna@example.org", relationship = "Mother", isPrimary = false, emailReminders = true, smsReminders = false },
            },
        });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var patient = (await added.Content.ReadFromJsonAsync<JsonObject>())!;
        var patientId = patient["id"]!.GetValue<Guid>();
        var emil = patient["contacts"]![0]!["id"]!.GetValue<Guid>();
        Assert.Equal("Mother", patient["contacts"]![1]!["relationship"]!.GetValue<string>());

        var start = ApiHost.T0.AddDays(2);
        var appointment = await admin.PostAsJsonAsync("/api/v1/appointments", new { patientId, therapistIds = new[] { adminId }, start, durationMinutes = 50 });
        Assert.Equal(HttpStatusCode.Created, appointment.StatusCode);
        var annaToken = await TokenForAsync("anna@example.org");
        Assert.Equal(HttpStatusCode.OK, (await _host.Anonymous().GetAsync($"/api/v1/join/{annaToken}")).StatusCode);

        var edited = await admin.PutAsJsonAsync($"/api/v1/patients/{patientId}", new
        {
            name = "Emil Frei-Keller",
            contacts = new object[]
            {
                new { id = emil, name = "Emil Frei", email = "emil.frei@example.org", phone = "+41 44 123 45 67", isPrimary = true, emailReminders = true, smsReminders = true },
                new { name = "Paul Frei", email = "paul@example.org", relationship = "Father", isPrimary = false, emailReminders = true, smsReminders = false },
            },
        });
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var found = (await admin.GetFromJsonAsync<JsonObject>($"/api/v1/patients/{patientId}"))!;
        Assert.Equal("Emil Frei-Keller", found["name"]!.GetValue<string>());
        Assert.Equal(["Emil Frei", "Paul Frei"], found["contacts"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Equal("emil.frei@example.org", found["contacts"]![0]!["email"]!.GetValue<string>());
        Assert.Equal(emil, found["contacts"]![0]!["id"]!.GetValue<Guid>());

        // Anna was removed: her link stops working and she no longer turns up in a search.
        Assert.Equal(HttpStatusCode.Gone, (await _host.Anonymous().GetAsync($"/api/v1/join/{annaToken}")).StatusCode);
        Assert.Empty((await admin.GetFromJsonAsync<JsonArray>("/api/v1/patients?search=anna"))!);
        Assert.Single((await admin.GetFromJsonAsync<JsonArray>("/api/v1/patients?search=PAUL"))!);
        Assert.Empty((await admin.GetFromJsonAsync<JsonArray>("/api/v1/patients?search=%25"))!);

        // A contact of another patient cannot be named, and the patient keeps at least one contact and one primary at most.
        var wrongId = await admin.PutAsJsonAsync($"/api/v1/patients/{patientId}", new { name = "X", contacts = new[] { new { id = Guid.NewGuid(), name = "X", isPrimary = true } } });
        Assert.Equal("contacts[0].id", (await wrongId.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        var none = await admin.PutAsJsonAsync($"/api/v1/patients/{patientId}", new { name = "X", contacts = Array.Empty<object>() });
        Assert.Equal("contacts", (await none.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        var twoPrimaries = await admin.PutAsJsonAsync($"/api/v1/patients/{patientId}", new { name = "X", contacts = new[] { new { name = "A", isPrimary = true }, new { name = "B", isPrimary = true } } });
        Assert.Equal(HttpStatusCode.BadRequest, twoPrimaries.StatusCode);
        Assert.Equal("Emil Frei-Keller", (await admin.GetFromJsonAsync<JsonObject>($"/api/v1/patients/{patientId}"))!["name"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PutAsJsonAsync($"/api/v1/patients/{Guid.NewGuid()}", new { name = "X", contacts = new[] { new { name = "A", isPrimary = true } } })).StatusCode);
    }

    private async Task<string> TokenForAsync(string recipient)
    {
        var folder = Path.Combine(_host.DataPath, "outbox");
        for (var i = 0; i < 200; i++)
        {
            foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml") : [])
            {
                var message = await MimeMessage.LoadAsync(file);
                var text = message.TextBody ?? "";
                var at = text.IndexOf("/join/", StringComparison.Ordinal);
                if (message.To.Mailboxes.Single().Address == recipient && at >= 0)
                {
                    return new string(text[(at + 6)..].TakeWhile(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_').ToArray());
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No email to {recipient}.");
    }
}
