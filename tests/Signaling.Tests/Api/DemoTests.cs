using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Teletherapy.Signaling.Tests.Api;

public sealed class DemoTests
{
    [Fact]
    public async Task Demo_writes_demo_json_with_a_joinable_appointment_and_its_emails()
    {
        await using var host = new ApiHost(demo: true);
        var client = host.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);

        var path = Path.Combine(host.DataPath, "demo.json");
        var demo = JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsObject();
        Assert.Equal(["therapistEmail", "therapistPassword", "calendarUrl", "patientJoinUrl", "appointmentId", "patientName", "adminEmail", "adminPassword", "schedulerEmail", "schedulerPassword"], demo.Select(p => p.Key));
        Assert.Equal("therapist@demo.clinic", demo["therapistEmail"]!.GetValue<string>());
        Assert.Equal("https://clinic.example/schedule/calendar", demo["calendarUrl"]!.GetValue<string>());
        var joinUrl = demo["patientJoinUrl"]!.GetValue<string>();
        Assert.StartsWith("https://clinic.example/join/", joinUrl);

        // The link works and the room is open now.
        var token = joinUrl[(joinUrl.LastIndexOf('/') + 1)..];
        var resolved = await client.GetFromJsonAsync<JsonObject>($"/api/v1/join/{token}");
        Assert.Equal(demo["appointmentId"]!.GetValue<Guid>(), resolved!["appointmentId"]!.GetValue<Guid>());
        Assert.Equal("open", resolved["status"]!.GetValue<string>());

        // The therapist can sign in and join now.
        var therapist = await host.StaffAsync(demo["therapistEmail"]!.GetValue<string>(), demo["therapistPassword"]!.GetValue<string>());
        var join = await therapist.PostAsync($"/api/v1/appointments/{demo["appointmentId"]}/join", null);
        Assert.Equal(HttpStatusCode.OK, join.StatusCode);

        // Its scheduled-appointment emails reach the outbox folder (patient and caregiver). The caregiver's reminder
        // (the appointment is less than 24 h away and the demo clinic has reminders on) may be there too.
        var folder = Path.Combine(host.DataPath, "outbox");
        var scheduled = new List<string>();
        for (var i = 0; i < 200 && scheduled.Count < 2; i++)
        {
            await Task.Delay(50);
            scheduled.Clear();
            foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml") : [])
            {
                var message = await MimeKit.MimeMessage.LoadAsync(file);
                if (message.Subject?.StartsWith("Your teletherapy appointment", StringComparison.Ordinal) == true)
                {
                    scheduled.Add(message.To.Mailboxes.Single().Address);
                }
            }
        }

        Assert.Equal(["jordan.taylor@demo.clinic", "sam.taylor@demo.clinic"], scheduled.Order());
    }
}
