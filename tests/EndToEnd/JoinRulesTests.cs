using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>What the screens say when a join is not possible: too early (R2), not listed (R1), bad or cancelled links.</summary>
public sealed class JoinRulesTests
{
    [Fact(Timeout = 150_000)]
    public async Task Join_Session_is_disabled_before_the_room_opens_and_an_unlisted_therapist_is_told_why()
    {
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        using var api = Scenario.Integrator(server);
        // The browser is in the demo clinic's time zone, so the calendar's times carry no zone name.
        await using var browser = await Browser.LaunchAsync(timeZone: "Europe/Berlin");
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);

        // An appointment for the demo therapist and patient starting in two hours.
        var now = DateTimeOffset.UtcNow;
        var calendar = JsonDocument.Parse(await api.GetStringAsync(
            $"/api/v1/appointments?from={Uri.EscapeDataString(now.AddDays(-1).ToString("O"))}&to={Uri.EscapeDataString(now.AddDays(1).ToString("O"))}")).RootElement;
        var demoEntry = calendar.EnumerateArray().Single(e => e.GetProperty("id").GetGuid() == demo.AppointmentId);
        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddHours(2);
        var created = await Scenario.PostAsync(api, "/api/v1/appointments", new
        {
            patientId = demoEntry.GetProperty("patientId").GetGuid(),
            therapistIds = demoEntry.GetProperty("therapistIds").EnumerateArray().Select(t => t.GetGuid()).ToArray(),
            start,
            durationMinutes = 50,
            teletherapy = true,
        });
        var laterId = created.GetProperty("id").GetGuid();

        await Scenario.SignInAsync(page, server, demo.TherapistEmail, demo.TherapistPassword);
        var localStart = TimeZoneInfo.ConvertTime(start, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));
        await page.GotoAsync($"{server.BaseUrl}/schedule/calendar?week={localStart:yyyy-MM-dd}");
        var later = page.Locator($"[data-appointment='{laterId}']");
        await Expect(later).ToContainTextAsync(demo.PatientName);
        await later.HoverAsync();
        await later.GetByRole(AriaRole.Tab, new() { Name = "Teletherapy", Exact = true }).ClickAsync();
        var join = later.GetByRole(AriaRole.Button, new() { Name = "Join Session", Exact = true });
        await Expect(join).ToBeDisabledAsync();
        var opensAt = localStart.AddMinutes(-10).ToString("HH:mm", CultureInfo.InvariantCulture);
        await Expect(later.Locator(".join-note")).ToHaveTextAsync($"Opens at {opensAt}");
        await Expect(join).ToHaveAccessibleDescriptionAsync($"Opens at {opensAt}");
        await Browser.ScreenshotAsync(page, "20-calendar-join-disabled");
        Assert.Empty(errors);

        // A second staff member, not listed on the demo appointment: Sign out, sign in as them, open the session.
        await Scenario.PostAsync(api, "/api/v1/staff", new { name = "Alex Other", email = "alex.other@demo.clinic", password = "another-password" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/$"));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true })).ToBeVisibleAsync();
        await Scenario.SignInAsync(page, server, "alex.other@demo.clinic", "another-password");
        await Expect(page.Locator($"[data-appointment='{demo.AppointmentId}']")).ToHaveCountAsync(0);
        await page.GotoAsync($"{server.BaseUrl}/session/{demo.AppointmentId}");
        await Expect(page.Locator(".refusal")).ToHaveTextAsync(
            "You are not a therapist listed on this appointment, so you cannot join its session. Ask the clinic to add you to the appointment.");
        await Expect(page.Locator(".refusal")).ToHaveAttributeAsync("data-reason", "not-listed");
        await Browser.ScreenshotAsync(page, "21-session-not-listed");

        // Links that do not work get kind words: unknown, and cancelled.
        var patient = await browser.NewPageAsync(errors);
        await patient.GotoAsync($"{server.BaseUrl}/join/not-a-real-link");
        await Expect(patient.Locator(".link-problem")).ToHaveAttributeAsync("data-reason", "not-found");
        await Expect(patient.Locator(".link-problem")).ToContainTextAsync("We could not find this link.");
        await Browser.ScreenshotAsync(patient, "22-join-link-not-found");
        await Scenario.PostAsync(api, $"/api/v1/appointments/{demo.AppointmentId}/cancel", new { });
        await patient.GotoAsync(server.BaseUrl + demo.JoinPath);
        await Expect(patient.Locator(".link-problem")).ToHaveTextAsync("This appointment was cancelled. If that is unexpected, please contact the clinic.");
        await Browser.ScreenshotAsync(patient, "23-join-link-cancelled");

        // The only errors are the refused requests themselves (403, 404, 410 responses).
        Assert.Empty(Scenario.Unexpected(errors));
    }
}
