using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using MimeKit;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>The patient portal (R10): sign-in by emailed link; the join notification appears 10 minutes before the start.</summary>
public sealed partial class PortalTests
{
    [Fact(Timeout = 150_000)]
    public async Task The_join_notification_appears_ten_minutes_before_the_start_and_joins_the_session()
    {
        var now = DateTimeOffset.UtcNow;
        var clock = new FakeTimeProvider(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero));
        using var server = new LiveServer(
            new Dictionary<string, string?> { ["Teletherapy:ApiKeys:0"] = Scenario.ApiKey },
            services => services.AddSingleton<TimeProvider>(clock));
        using var api = Scenario.Integrator(server);
        (await api.PutAsJsonAsync("/api/v1/clinic", new { name = "Lakeside Clinic", timeZone = "Europe/Berlin", remindersEnabled = true })).EnsureSuccessStatusCode();
        var therapistId = (await Scenario.PostAsync(api, "/api/v1/staff", new { name = "Dr. Kim Park", email = "kim.park@lakeside.example", password = "kim-password" })).GetProperty("id").GetGuid();
        const string email = "riley.morgan@lakeside.example";
        var patientId = (await Scenario.PostAsync(api, "/api/v1/patients", new
        {
            name = "Riley Morgan",
            contacts = new[] { new { name = "Riley Morgan", email, phone = (string?)null, isPrimary = true, emailReminders = false, smsReminders = false } },
        })).GetProperty("id").GetGuid();
        var start = clock.GetUtcNow().AddMinutes(30);
        await Scenario.PostAsync(api, "/api/v1/appointments", new { patientId, therapistIds = new[] { therapistId }, start, durationMinutes = 45, teletherapy = true });

        await using var browser = await Browser.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);

        // Sign in by emailed link.
        await page.GotoAsync(server.BaseUrl + "/portal");
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync(email);
        await page.GetByRole(AriaRole.Button, new() { Name = "Email me a sign-in link" }).ClickAsync();
        await Expect(page.Locator("#portal-status")).ToContainTextAsync("We've sent you a link.");
        await Browser.ScreenshotAsync(page, "30-portal-sign-in");
        var loginPath = await PortalLinkAsync(server.DataPath);
        await page.GotoAsync(server.BaseUrl + loginPath);
        await page.WaitForURLAsync(new Regex("/portal$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Your appointments" })).ToBeVisibleAsync();

        // 30 minutes before the start: nothing to join, across a poll.
        var joinButton = page.GetByRole(AriaRole.Button, new() { Name = "Join the session", Exact = true });
        await Expect(page.Locator("main")).ToContainTextAsync("Nothing to join right now.");
        await Task.Delay(TimeSpan.FromSeconds(16));
        await Expect(joinButton).ToHaveCountAsync(0);
        await Browser.ScreenshotAsync(page, "31-portal-nothing-yet");

        // Past start − 10 minutes the next poll shows the notification.
        clock.Advance(TimeSpan.FromMinutes(21));
        await Expect(joinButton).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await Expect(page.Locator(".notification")).ToContainTextAsync("Riley Morgan with Lakeside Clinic");
        await Browser.ScreenshotAsync(page, "32-portal-notification");

        // Clicking it opens the join page for this appointment, already open.
        await joinButton.ClickAsync();
        await page.WaitForURLAsync(new Regex("/join/"));
        await Expect(page.Locator("main")).ToContainTextAsync("Hello Riley Morgan.");
        await Expect(page.Locator("#open-status")).ToHaveTextAsync("The waiting room is open.");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Join the session", Exact = true })).ToBeEnabledAsync();
        await Browser.ScreenshotAsync(page, "33-portal-join-page");

        // The signed-out portal's first request is a 401 by design; nothing else may fail.
        Assert.Empty(Scenario.Unexpected(errors));
    }

    private static async Task<string> PortalLinkAsync(string dataPath)
    {
        var outbox = Path.Combine(dataPath, "outbox");
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            if (Directory.Exists(outbox))
            {
                foreach (var file in Directory.GetFiles(outbox, "*.eml"))
                {
                    var message = await MimeMessage.LoadAsync(file);
                    var match = PortalLoginPath().Match(message.TextBody ?? message.HtmlBody ?? string.Empty);
                    if (match.Success)
                    {
                        return match.Value;
                    }
                }
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("No portal sign-in email arrived in the outbox.");
    }

    [GeneratedRegex(@"/api/v1/portal/login/[A-Za-z0-9_\-~.%]+")]
    private static partial Regex PortalLoginPath();
}
