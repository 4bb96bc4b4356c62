using System.Globalization;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using MimeKit;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// Appointment times in the browser are the clinic's, as its emails state them (issue #18): in a browser in the
/// clinic's zone without a zone name; in a browser elsewhere with the clinic's zone named and the viewer's own time
/// beside it. The therapist's calendar puts an appointment in the column of its day at the clinic, the details page,
/// the patient portal and the join page say the same time. The appointment starts at 00:30 in Berlin, which is the
/// previous evening in New York.
/// </summary>
public sealed partial class ClinicTimeTests
{
    private const string Zone = "Europe/Berlin";

    [Theory(Timeout = 180_000)]
    [InlineData(Zone)]
    [InlineData("America/New_York")]
    public async Task Appointment_times_are_on_the_clinics_clock_and_name_its_zone_when_the_browsers_differs(string browserZone)
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById(Zone);
        var day = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, berlin).Date.AddDays(2);
        var start = new DateTimeOffset(day.AddMinutes(30), berlin.GetUtcOffset(day.AddMinutes(30))).ToUniversalTime();
        var end = start.AddMinutes(50);

        // The server's clock is five minutes before the start: the room is open and the portal shows the notification.
        var clock = new FakeTimeProvider(start.AddMinutes(-5));
        using var server = new LiveServer(
            new Dictionary<string, string?> { ["Teletherapy:ApiKeys:0"] = Scenario.ApiKey },
            services => services.AddSingleton<TimeProvider>(clock));
        using var api = Scenario.Integrator(server);
        (await api.PutAsJsonAsync("/api/v1/clinic", new { name = "Spreeufer Praxis", timeZone = Zone, remindersEnabled = false })).EnsureSuccessStatusCode();
        var therapistId = (await Scenario.PostAsync(api, "/api/v1/staff", new { name = "Dr. Lena Wolf", email = "lena.wolf@spreeufer.example", password = "lena-password" })).GetProperty("id").GetGuid();
        const string email = "jonas.berg@spreeufer.example";
        var patientId = (await Scenario.PostAsync(api, "/api/v1/patients", new
        {
            name = "Jonas Berg",
            contacts = new[] { new { name = "Jonas Berg", email, phone = (string?)null, isPrimary = true, emailReminders = false, smsReminders = false } },
        })).GetProperty("id").GetGuid();
        var id = (await Scenario.PostAsync(api, "/api/v1/appointments", new { patientId, therapistIds = new[] { therapistId }, start, durationMinutes = 50, teletherapy = true }))
            .GetProperty("id").GetGuid();

        // What each page must say: the clinic's 00:30–01:20, named and with the viewer's own time only in another zone.
        var elsewhere = browserZone != Zone;
        var own = TimeZoneInfo.FindSystemTimeZoneById(browserZone);
        var ownRange = $"{Clock(start, own)}–{Clock(end, own)}";
        var named = elsewhere ? $" {Zone}" : "";
        var range = $"00:30–01:20{named}";

        // The range, with the zone's name and the viewer's own time exactly when the browser is elsewhere.
        async Task AssertTimeAsync(ILocator shown)
        {
            await Expect(shown).ToContainTextAsync(range);
            var text = await shown.InnerTextAsync();
            Assert.True(elsewhere == text.Contains(Zone, StringComparison.Ordinal), text);
            Assert.True(elsewhere == text.Contains($"{ownRange} your time)", StringComparison.Ordinal), text);
        }

        await using var browser = await Browser.LaunchAsync(timeZone: browserZone);
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);

        // The therapist's calendar: the card in the column of the clinic's day, whatever the day is in the browser.
        await Scenario.SignInAsync(page, server, "lena.wolf@spreeufer.example", "lena-password");
        var date = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await page.GotoAsync($"{server.BaseUrl}/schedule/calendar?week={date}");
        var card = page.Locator($"section[data-day='{date}'] [data-appointment='{id}']");
        await Expect(card).ToContainTextAsync("Jonas Berg");
        await Expect(card.Locator(".time")).ToHaveTextAsync(range);
        await card.HoverAsync();
        await AssertTimeAsync(card.Locator(".when"));
        await card.GetByRole(AriaRole.Tab, new() { Name = "Teletherapy", Exact = true }).ClickAsync();
        var startsAt = elsewhere ? $"00:30 {Zone} ({Clock(start, own)} your time)" : "00:30";
        await Expect(card.Locator(".join-note")).ToHaveTextAsync($"The waiting room is open. The session starts at {startsAt}.");
        await Browser.ScreenshotAsync(page, $"50-calendar-browser-in-{browserZone.Replace('/', '-')}");

        // The details page says the same.
        await page.GotoAsync($"{server.BaseUrl}/schedule/appointments/{id}");
        await AssertTimeAsync(page.Locator("dd.when"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/$"));

        // The patient portal's notification, and the join page it leads to.
        await page.GotoAsync(server.BaseUrl + "/portal");
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync(email);
        await page.GetByRole(AriaRole.Button, new() { Name = "Email me a sign-in link" }).ClickAsync();
        await Expect(page.Locator("#portal-status")).ToContainTextAsync("We've sent you a link.");
        await page.GotoAsync(server.BaseUrl + await PortalLinkAsync(server.DataPath));
        var notification = page.Locator($".notification[data-appointment='{id}']");
        await AssertTimeAsync(notification.Locator(".when"));
        await Browser.ScreenshotAsync(page, $"51-portal-browser-in-{browserZone.Replace('/', '-')}");

        await notification.GetByRole(AriaRole.Button, new() { Name = "Join the session", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/join/"));
        await Expect(page.Locator(".lead")).ToContainTextAsync($" at {startsAt}.");
        Assert.Empty(Scenario.Unexpected(errors));
    }

    /// <summary>"18:30" on the zone's clock.</summary>
    private static string Clock(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("HH:mm", CultureInfo.InvariantCulture);

    private static async Task<string> PortalLinkAsync(string dataPath)
    {
        var outbox = Path.Combine(dataPath, "outbox");
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            foreach (var file in Directory.Exists(outbox) ? Directory.GetFiles(outbox, "*.eml") : [])
            {
                var message = await MimeMessage.LoadAsync(file);
                var match = PortalLoginPath().Match(message.TextBody ?? message.HtmlBody ?? string.Empty);
                if (match.Success)
                {
                    return match.Value;
                }
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("No portal sign-in email arrived in the outbox.");
    }

    [GeneratedRegex(@"/api/v1/portal/login/[A-Za-z0-9_\-~.%]+")]
    private static partial Regex PortalLoginPath();
}
