using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The call view fits the window (issue #18): at phone and desktop sizes the videos, the self-view and the controls
/// (Leave, Mute, Camera off, End session) are inside the viewport without scrolling, for the therapist and the patient;
/// the self-view can be dragged and stays inside the stage. The patient's browser is in another time zone than the
/// clinic's: the join page names the clinic's zone beside its time, as the email does.
/// </summary>
public sealed class CallLayoutTests
{
    private static readonly (int Width, int Height)[] Sizes = [(1280, 800), (390, 844), (360, 640), (768, 1024), (1920, 1080)];

    /// <summary>The sizes screenshots are kept of (in the test output's screenshots folder).</summary>
    private static readonly (int Width, int Height)[] Screenshots = [(1280, 800), (390, 844)];

    [Fact(Timeout = 180_000)]
    public async Task The_call_fits_the_window_from_phone_to_desktop_with_every_control_visible()
    {
        // The demo clinic is in Europe/Berlin; this patient's computer is an hour behind all year.
        await using var call = await DemoCall.StartAsync(patientTimeZone: "Europe/London");
        var (server, demo, therapist, patient) = (call.Server, call.Demo, call.Therapist, call.Patient);

        await Scenario.OpenSessionRoomAsync(therapist, server, demo);
        await patient.GotoAsync(server.BaseUrl + demo.JoinPath);
        var lead = patient.Locator(".lead");
        await Expect(lead).ToContainTextAsync("Europe/Berlin");
        var times = Regex.Match(await lead.InnerTextAsync(), @" at (\d\d):(\d\d) Europe/Berlin \((\d\d):(\d\d) your time\)");
        Assert.True(times.Success, await lead.InnerTextAsync());
        var clinicMinutes = (int.Parse(times.Groups[1].Value) * 60) + int.Parse(times.Groups[2].Value);
        var ownMinutes = (int.Parse(times.Groups[3].Value) * 60) + int.Parse(times.Groups[4].Value);
        Assert.Equal(60, ((clinicMinutes - ownMinutes) + (24 * 60)) % (24 * 60));

        await patient.GetByRole(AriaRole.Button, new() { Name = "Join the session", Exact = true }).ClickAsync();
        await therapist.Locator(".waiting-entry", new() { HasText = demo.PatientName })
            .GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();
        await Expect(patient.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
        await Scenario.WaitForMediaAsync(patient);
        await Scenario.WaitForMediaAsync(therapist);

        foreach (var (width, height) in Sizes)
        {
            foreach (var page in new[] { therapist, patient })
            {
                await page.SetViewportSizeAsync(width, height);
            }

            var size = $"{width}×{height}";
            await AssertFitsAsync(therapist, $"therapist at {size}", ["Leave", "End session", "Mute", "Camera off"]);
            await AssertFitsAsync(patient, $"patient at {size}", ["Leave", "Mute", "Camera off"]);
            if (Screenshots.Contains((width, height)))
            {
                await Browser.ScreenshotAsync(therapist, $"20-call-therapist-{width}x{height}");
                await Browser.ScreenshotAsync(patient, $"21-call-patient-{width}x{height}");
            }
        }

        // The self-view is dragged to the stage's top left corner, and stays inside the stage when dragged beyond it.
        await patient.SetViewportSizeAsync(1280, 800);
        var self = patient.Locator(".call-stage .tile.self");
        await AssertFitsAsync(patient, "patient before the drag", ["Leave"]);
        var stage = (await patient.Locator(".call-stage").BoundingBoxAsync())!;
        var before = (await self.BoundingBoxAsync())!;
        Assert.True(before.X > stage.X + (stage.Width / 2), $"The self-view starts at the right: {before.X} in a stage from {stage.X}.");
        await patient.Mouse.MoveAsync(before.X + (before.Width / 2), before.Y + (before.Height / 2));
        await patient.Mouse.DownAsync();
        await patient.Mouse.MoveAsync(stage.X - 200, stage.Y - 200, new() { Steps = 8 });
        await patient.Mouse.UpAsync();
        var after = (await self.BoundingBoxAsync())!;
        Assert.InRange(after.X, stage.X - 0.5, stage.X + 2);
        Assert.InRange(after.Y, stage.Y - 0.5, stage.Y + 2);

        Assert.Empty(Scenario.Unexpected(call.Errors));
    }

    /// <summary>
    /// Waits (the tiles are laid out on the next frame after a resize) until the page does not scroll and the named
    /// buttons, every remote video and the self-view lie inside the viewport.
    /// </summary>
    private static async Task AssertFitsAsync(IPage page, string who, string[] buttons)
    {
        var viewport = page.ViewportSize!;
        var problems = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            problems.Clear();
            var scroll = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]");
            if (scroll[0] > viewport.Width || scroll[1] > viewport.Height)
            {
                problems.Add($"the page scrolls: {scroll[0]}×{scroll[1]}");
            }

            var boxes = new List<(string What, ILocator Locator)>();
            boxes.AddRange(buttons.Select(name => (name, page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true }))));
            boxes.Add(("self-view", page.Locator(".call-stage .tile.self")));
            var remote = page.Locator(".tile.remote:not([hidden]) video");
            var count = await remote.CountAsync();
            if (count == 0)
            {
                problems.Add("no remote video");
            }

            for (var i = 0; i < count; i++)
            {
                boxes.Add(($"remote video {i + 1}", remote.Nth(i)));
            }

            foreach (var (what, locator) in boxes)
            {
                var box = await locator.BoundingBoxAsync();
                if (box is null)
                {
                    problems.Add($"{what} is not shown");
                }
                else if (box.X < -0.5 || box.Y < -0.5 || box.X + box.Width > viewport.Width + 0.5 || box.Y + box.Height > viewport.Height + 0.5 || box.Width < 40 || box.Height < 30)
                {
                    problems.Add($"{what} at {box.X:0},{box.Y:0} {box.Width:0}×{box.Height:0}");
                }
            }

            if (problems.Count == 0)
            {
                return;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"{who} ({viewport.Width}×{viewport.Height}): {string.Join("; ", problems)}");
    }
}
