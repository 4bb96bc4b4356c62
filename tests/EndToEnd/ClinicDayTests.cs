using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using MimeKit;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// A clinic's day in the browser: the first-run setup, staff with roles, a patient with contacts, a weekly series
/// booked from the editor (emails per R6/R7), the therapist joining from the calendar, a move and a cancel from the
/// details page, and the contacts' emails saying so.
/// </summary>
public sealed partial class ClinicDayTests
{
    private const string Zone = "Europe/Berlin";

    [Fact(Timeout = 240_000)]
    public async Task A_clinic_sets_up_books_a_series_joins_moves_and_cancels_in_the_browser()
    {
        using var server = new LiveServer(new Dictionary<string, string?> { ["Teletherapy:ApiKeys:0"] = Scenario.ApiKey });
        using var api = Scenario.Integrator(server);
        await using var browser = await Browser.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);

        // First run: the setup page instead of the sign-in.
        await page.GotoAsync(server.BaseUrl + "/");
        await page.GetByLabel("Clinic name", new() { Exact = true }).FillAsync("Lindenhof Praxis");
        await page.GetByLabel("Time zone", new() { Exact = true }).FillAsync(Zone);
        await page.GetByLabel("Your name", new() { Exact = true }).FillAsync("Alex Admin");
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync("alex@lindenhof.example");
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync("admin-password");
        await Browser.ScreenshotAsync(page, "40-first-run-setup");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create clinic", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/schedule/calendar"));

        // The admin adds a scheduler and a therapist.
        await page.GetByRole(AriaRole.Link, new() { Name = "Staff", Exact = true }).ClickAsync();
        await AddStaffAsync(page, "Casey Desk", "casey@lindenhof.example", "scheduler");
        await AddStaffAsync(page, "Dr. Tara Quinn", "tara@lindenhof.example", "therapist");
        await Expect(page.GetByLabel("Role of Dr. Tara Quinn")).ToHaveValueAsync("therapist");
        await Browser.ScreenshotAsync(page, "41-staff");
        await page.GetByRole(AriaRole.Link, new() { Name = "Clinic settings", Exact = true }).ClickAsync();
        await page.GetByLabel("Appointment reminders (email 24 hours before)").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Settings saved.");
        await SignOutAsync(page);

        // The scheduler adds a patient with a primary contact and a caregiver.
        await Scenario.SignInAsync(page, server, "casey@lindenhof.example", "scheduler-password");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Staff", Exact = true })).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Link, new() { Name = "Patients", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Add patient", Exact = true }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).First.FillAsync("Mia Keller");
        var first = page.Locator("fieldset.contact").Nth(0);
        await first.GetByLabel("Name", new() { Exact = true }).FillAsync("Mia Keller");
        await first.GetByLabel("Email", new() { Exact = true }).FillAsync("mia@example.org");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add contact", Exact = true }).ClickAsync();
        var second = page.Locator("fieldset.contact").Nth(1);
        await second.GetByLabel("Name", new() { Exact = true }).FillAsync("Tom Keller");
        await second.GetByLabel("Relationship", new() { Exact = true }).FillAsync("Father");
        await second.GetByLabel("Email", new() { Exact = true }).FillAsync("tom@example.org");
        await second.GetByLabel("Email reminders", new() { Exact = true }).CheckAsync();
        await Browser.ScreenshotAsync(page, "42-patient");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save patient", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/patients/[0-9a-f-]{36}$"));

        // ...and books a weekly series of three, the first joinable now (it starts in about 6 minutes).
        var start = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow.AddMinutes(6), TimeZoneInfo.FindSystemTimeZoneById(Zone));
        await page.GotoAsync(server.BaseUrl + "/schedule/calendar");
        await page.GetByRole(AriaRole.Link, new() { Name = "New appointment", Exact = true }).ClickAsync();
        await page.GetByLabel("Patient", new() { Exact = true }).FillAsync("Mia");
        await page.GetByRole(AriaRole.Option, new() { Name = "Mia Keller" }).ClickAsync();
        await page.GetByLabel("Dr. Tara Quinn", new() { Exact = true }).CheckAsync();
        await page.GetByLabel("Date", new() { Exact = true }).FillAsync(start.ToString("yyyy-MM-dd"));
        await page.GetByLabel($"Start time ({Zone})", new() { Exact = true }).FillAsync(start.ToString("HH:mm"));
        await page.GetByLabel("Duration (minutes)", new() { Exact = true }).FillAsync("50");
        await page.GetByLabel("Repeat", new() { Exact = true }).SelectOptionAsync("weeks");
        await page.GetByLabel("Every", new() { Exact = true }).FillAsync("1");
        await page.GetByLabel("Occurrences", new() { Exact = true }).FillAsync("3");
        await Browser.ScreenshotAsync(page, "43-appointment-editor");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save appointment", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/schedule/appointments/[0-9a-f-]{36}$"));
        var firstId = Guid.Parse(page.Url[(page.Url.LastIndexOf('/') + 1)..]);
        await Expect(page.Locator("main")).ToContainTextAsync("Dr. Tara Quinn");
        await Expect(page.Locator("main")).ToContainTextAsync("Scheduled appointment to Tom Keller");
        await Browser.ScreenshotAsync(page, "44-appointment-details");

        var series = (await api.GetFromJsonAsync<JsonArray>($"/api/v1/appointments?from={Q(DateTimeOffset.UtcNow.AddHours(-1))}&to={Q(DateTimeOffset.UtcNow.AddDays(20))}"))!;
        var occurrences = series.Select(a => a!["id"]!.GetValue<Guid>()).ToList();
        Assert.Equal(3, occurrences.Count);
        Assert.Equal(firstId, occurrences[0]);
        Assert.Equal(new DateTimeOffset(start.Year, start.Month, start.Day, start.Hour, start.Minute, 0, start.Offset).AddDays(7), series[1]!["start"]!.GetValue<DateTimeOffset>());

        // R6: the primary contact and the caregiver with email reminders; R7: both links join the first occurrence.
        var scheduled = await EmailsAsync(server, m => (m.Subject ?? "").StartsWith("Your teletherapy appointment", StringComparison.Ordinal), 2);
        Assert.Equal(["mia@example.org", "tom@example.org"], scheduled.Select(m => m.To.Mailboxes.Single().Address).Order());
        foreach (var message in scheduled)
        {
            var token = JoinLink().Match((message.TextBody ?? "")).Groups[1].Value;
            var link = (await api.GetFromJsonAsync<JsonObject>($"/api/v1/join/{token}"))!;
            Assert.Equal(firstId, link["appointmentId"]!.GetValue<Guid>());
            Assert.Contains("first of a series of 3", (message.TextBody ?? ""));
        }

        await SignOutAsync(page);

        // The therapist sees the series and joins the first from the calendar.
        await Scenario.SignInAsync(page, server, "tara@lindenhof.example", "therapist-password");
        var appointment = page.Locator($"[data-appointment='{firstId}']");
        await Expect(appointment).ToContainTextAsync("Mia Keller");
        await appointment.HoverAsync();
        await appointment.GetByRole(AriaRole.Tab, new() { Name = "Teletherapy", Exact = true }).ClickAsync();
        await appointment.GetByRole(AriaRole.Button, new() { Name = "Join Session", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex($"/session/{firstId}"));
        await Expect(page.Locator(".waiting-panel")).ToContainTextAsync("Nobody is waiting.");
        await page.GotoAsync(server.BaseUrl + "/schedule/calendar");
        await SignOutAsync(page);

        // The scheduler moves the second by an hour and cancels the third.
        await Scenario.SignInAsync(page, server, "casey@lindenhof.example", "scheduler-password");
        await page.GotoAsync($"{server.BaseUrl}/schedule/appointments/{occurrences[1]}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Change appointment", Exact = true }).ClickAsync();
        var moved = start.AddDays(7).AddHours(1);
        await page.GetByLabel($"Start time ({Zone})", new() { Exact = true }).FillAsync(moved.ToString("HH:mm"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Save appointment", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex($"/schedule/appointments/{occurrences[1]}$"));
        await Expect(page.Locator("main")).ToContainTextAsync("Moved appointment to Mia Keller");

        await page.GotoAsync($"{server.BaseUrl}/schedule/appointments/{occurrences[2]}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel appointment", Exact = true }).ClickAsync();
        await Browser.ScreenshotAsync(page, "45-cancel-confirmation");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, cancel the appointment", Exact = true }).ClickAsync();
        await Expect(page.Locator("#appointment-status")).ToHaveTextAsync("Status: cancelled");
        await Expect(page.Locator("main")).ToContainTextAsync("Cancellation to Tom Keller");

        // The contacts' emails say so: the move with its new link, the cancel without one.
        var movedMails = await EmailsAsync(server, m => (m.Subject ?? "").Contains("has moved to", StringComparison.Ordinal), 2);
        Assert.All(movedMails, m => Assert.Contains("has moved from", (m.TextBody ?? "")));
        foreach (var message in movedMails)
        {
            var token = JoinLink().Match((message.TextBody ?? "")).Groups[1].Value;
            Assert.Equal(occurrences[1], (await api.GetFromJsonAsync<JsonObject>($"/api/v1/join/{token}"))!["appointmentId"]!.GetValue<Guid>());
        }

        var cancelled = await EmailsAsync(server, m => (m.Subject ?? "").StartsWith("Cancelled:", StringComparison.Ordinal), 2);
        Assert.Equal(["mia@example.org", "tom@example.org"], cancelled.Select(m => m.To.Mailboxes.Single().Address).Order());
        Assert.All(cancelled, m => Assert.DoesNotContain("/join/", (m.TextBody ?? "")));
        Assert.Empty(Scenario.Unexpected(errors));
    }

    private static async Task AddStaffAsync(IPage page, string name, string email, string role)
    {
        var form = page.Locator("form", new() { Has = page.GetByRole(AriaRole.Button, new() { Name = "Add staff member", Exact = true }) });
        await form.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await form.GetByLabel("Email", new() { Exact = true }).FillAsync(email);
        await form.GetByLabel("Password", new() { Exact = true }).FillAsync(role + "-password");
        await form.GetByLabel("Role", new() { Exact = true }).SelectOptionAsync(role);
        await form.GetByRole(AriaRole.Button, new() { Name = "Add staff member", Exact = true }).ClickAsync();
        await Expect(page.Locator("table.staff")).ToContainTextAsync(email);
    }

    private static async Task SignOutAsync(IPage page)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/$"));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true })).ToBeVisibleAsync();
    }

    private static string Q(DateTimeOffset value) => Uri.EscapeDataString(value.ToString("O"));

    private static async Task<List<MimeMessage>> EmailsAsync(LiveServer server, Func<MimeMessage, bool> match, int count)
    {
        var folder = Path.Combine(server.DataPath, "outbox");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var found = new List<MimeMessage>();
            foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml") : [])
            {
                var message = await MimeMessage.LoadAsync(file);
                if (match(message))
                {
                    found.Add(message);
                }
            }

            if (found.Count >= count || DateTime.UtcNow > deadline)
            {
                Assert.Equal(count, found.Count);
                return found;
            }

            await Task.Delay(100);
        }
    }

    [GeneratedRegex("/join/([A-Za-z0-9_-]+)")]
    private static partial Regex JoinLink();
}
