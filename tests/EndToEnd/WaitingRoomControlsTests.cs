using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The therapist's waiting-room controls in the session room, by their contract names (README: Roles and the practice pages): Admit, Send to
/// waiting room, Admit all, Deny — each seen by the patient or the caregiver on their join page — and a cancel or a
/// reschedule through the REST API reaching the open session room and the patient.
/// </summary>
public sealed class WaitingRoomControlsTests
{
    [Fact(Timeout = 150_000)]
    public async Task Admit_send_back_admit_all_and_deny_reach_the_patient_and_a_cancel_reaches_the_therapist()
    {
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        await using var therapistBrowser = await Browser.LaunchAsync();
        await using var patientBrowser = await Browser.LaunchAsync();
        var errors = new List<string>();
        var therapist = await therapistBrowser.NewPageAsync(errors);
        var patient = await patientBrowser.NewPageAsync(errors);

        await Scenario.OpenSessionRoomAsync(therapist, server, demo);
        await Scenario.JoinWithLinkAsync(patient, server, demo.JoinPath);
        var status = patient.Locator("#join-status");
        await Expect(status).ToHaveTextAsync("Your therapist knows you are here and will let you in shortly.");

        var waiting = therapist.Locator(".waiting-entry", new() { HasText = demo.PatientName });
        var inSession = therapist.Locator(".session-entry", new() { HasText = demo.PatientName });
        await waiting.GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();
        await Expect(status).ToHaveTextAsync("You are in the session.");
        await Scenario.WaitForMediaAsync(patient);

        // Send to waiting room: the patient is told and is back in the queue.
        await inSession.GetByRole(AriaRole.Button, new() { Name = "Send to waiting room", Exact = true }).ClickAsync();
        await Expect(status).ToHaveTextAsync("You are back in the waiting room. Your therapist will let you in again.");
        await Expect(waiting).ToBeVisibleAsync();
        await Expect(inSession).ToHaveCountAsync(0);

        // The caregiver knocks with the link from their own email: with two waiting, Admit all lets both in.
        var caregiver = await patientBrowser.NewPageAsync(errors);
        var (caregiverName, caregiverPath) = OtherJoinLink(server.DataPath, demo.PatientName);
        await Scenario.JoinWithLinkAsync(caregiver, server, caregiverPath);
        var caregiverStatus = caregiver.Locator("#join-status");
        await Expect(caregiverStatus).ToHaveTextAsync("Your therapist knows you are here and will let you in shortly.");
        await therapist.GetByRole(AriaRole.Button, new() { Name = "Admit all", Exact = true }).ClickAsync();
        await Expect(status).ToHaveTextAsync("You are in the session.");
        await Expect(caregiverStatus).ToHaveTextAsync("You are in the session.");
        await Scenario.WaitForMediaAsync(patient);

        // The caregiver back to the waiting room, then Deny: they are told they were not let in; the patient stays.
        var caregiverInSession = therapist.Locator(".session-entry", new() { HasText = caregiverName });
        await caregiverInSession.GetByRole(AriaRole.Button, new() { Name = "Send to waiting room", Exact = true }).ClickAsync();
        await Expect(caregiverStatus).ToHaveTextAsync("You are back in the waiting room. Your therapist will let you in again.");
        var caregiverWaiting = therapist.Locator(".waiting-entry", new() { HasText = caregiverName });
        await caregiverWaiting.GetByRole(AriaRole.Button, new() { Name = "Deny", Exact = true }).ClickAsync();
        await Expect(caregiver.Locator("main")).ToContainTextAsync("The therapist could not let you in to this session.");
        await Expect(therapist.Locator(".waiting-panel")).ToContainTextAsync("Nobody is waiting.");
        await Expect(status).ToHaveTextAsync("You are in the session.");

        // The clinic cancels the appointment during the session: the therapist's room and the patient's page say so.
        using var integrator = Scenario.Integrator(server);
        var cancelled = await integrator.PostAsync($"api/v1/appointments/{demo.AppointmentId}/cancel", null);
        Assert.True(cancelled.IsSuccessStatusCode, $"cancel: {(int)cancelled.StatusCode}");
        await Expect(therapist.Locator("#session-status")).ToHaveAttributeAsync("data-reason", "cancelled");
        await Expect(therapist.Locator("main")).ToContainTextAsync("The appointment was cancelled");
        await Expect(patient.Locator("main")).ToContainTextAsync("This appointment was cancelled.");

        Assert.Empty(Scenario.Unexpected(errors));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_reschedule_during_the_session_sends_the_patient_away_with_the_moved_text_and_the_new_link_knocks_again()
    {
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        await using var therapistBrowser = await Browser.LaunchAsync();
        await using var patientBrowser = await Browser.LaunchAsync();
        var errors = new List<string>();
        var therapist = await therapistBrowser.NewPageAsync(errors);
        var patient = await patientBrowser.NewPageAsync(errors);
        await Scenario.AdmitDemoPatientAsync(therapist, patient, server, demo);
        var waiting = therapist.Locator(".waiting-entry", new() { HasText = demo.PatientName });
        var inSession = therapist.Locator(".session-entry", new() { HasText = demo.PatientName });
        var linksBefore = JoinEmails(server.DataPath, demo.PatientName);

        // The clinic moves the appointment by five minutes: its room stays open for the therapist; the patient's link
        // was revoked, so their page says the appointment was moved and a new link was emailed.
        using var integrator = Scenario.Integrator(server);
        var appointment = await integrator.GetFromJsonAsync<JsonElement>($"api/v1/appointments/{demo.AppointmentId}");
        var start = appointment.GetProperty("start").GetDateTimeOffset();
        var minutes = (int)(appointment.GetProperty("end").GetDateTimeOffset() - start).TotalMinutes;
        var moved = await integrator.PutAsJsonAsync($"api/v1/appointments/{demo.AppointmentId}", new { start = start.AddMinutes(5), durationMinutes = minutes });
        Assert.True(moved.IsSuccessStatusCode, $"reschedule: {(int)moved.StatusCode} {await moved.Content.ReadAsStringAsync()}");
        await Expect(patient.Locator("main")).ToContainTextAsync("This link no longer works because the appointment was moved. The clinic has emailed you a new link");
        await Expect(inSession).ToHaveCountAsync(0);

        // The new link from the newest email knocks again, and the therapist can let the patient back in.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        string? newPath;
        while ((newPath = JoinEmails(server.DataPath, demo.PatientName).Except(linksBefore).SingleOrDefault()) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the rescheduled email with a new link");
            await Task.Delay(200);
        }

        var again = await patientBrowser.NewPageAsync(errors);
        await Scenario.JoinWithLinkAsync(again, server, newPath);
        await Expect(again.Locator("#join-status")).ToHaveTextAsync("Your therapist knows you are here and will let you in shortly.");
        await waiting.GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();
        await Expect(again.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
        await Expect(inSession).ToHaveCountAsync(1);

        Assert.Empty(Scenario.Unexpected(errors));
    }

    /// <summary>The join paths emailed to a contact so far.</summary>
    private static List<string> JoinEmails(string dataPath, string name) =>
        JoinLinks(dataPath).Where(l => l.Name == name).Select(l => l.Path).Distinct().ToList();

    /// <summary>The other contact's name and join path, from the scheduled-appointment emails in the outbox.</summary>
    internal static (string Name, string Path) OtherJoinLink(string dataPath, string patientName) =>
        JoinLinks(dataPath).FirstOrDefault(l => l.Name.Length > 0 && l.Name != patientName) is { Name: not null } found
            ? found
            : throw new InvalidOperationException("No join email for a second contact in the outbox.");

    /// <summary>Each join link in the outbox with the name it was sent to.</summary>
    private static IEnumerable<(string Name, string Path)> JoinLinks(string dataPath)
    {
        foreach (var file in Directory.GetFiles(Path.Combine(dataPath, "outbox"), "*.eml"))
        {
            var message = MimeKit.MimeMessage.Load(file);
            var link = Regex.Match(message.TextBody ?? string.Empty, @"https?://\S+?(/join/[A-Za-z0-9_-]+)");
            if (link.Success)
            {
                yield return (message.To.Mailboxes.Single().Name ?? string.Empty, link.Groups[1].Value);
            }
        }
    }
}
