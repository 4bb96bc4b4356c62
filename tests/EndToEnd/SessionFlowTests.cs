using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The demo flow in two real Chromium browsers through our relay: the therapist's path from the calendar (R4), the
/// patient's emailed link, the waiting room (R3), admission, media both ways, leaving, rejoining without knocking, ending.
/// </summary>
public sealed class SessionFlowTests
{
    [Fact(Timeout = 180_000)]
    public async Task Therapist_admits_the_patient_from_the_calendar_and_both_see_and_hear_each_other()
    {
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        await using var therapistBrowser = await Browser.LaunchAsync();
        await using var patientBrowser = await Browser.LaunchAsync();
        var therapistErrors = new List<string>();
        var patientErrors = new List<string>();
        var therapist = await therapistBrowser.NewPageAsync(therapistErrors);
        var patient = await patientBrowser.NewPageAsync(patientErrors);

        // Therapist: sign in → calendar → hover the appointment → Teletherapy tab → Join Session.
        await therapist.GotoAsync(server.BaseUrl + "/");
        await Browser.ScreenshotAsync(therapist, "01-sign-in");
        await Scenario.SignInAsync(therapist, server, demo.TherapistEmail, demo.TherapistPassword);
        var appointment = therapist.Locator($"[data-appointment='{demo.AppointmentId}']");
        await Expect(appointment).ToContainTextAsync(demo.PatientName);
        await Browser.ScreenshotAsync(therapist, "02-calendar");
        await appointment.HoverAsync();
        var tab = appointment.GetByRole(AriaRole.Tab, new() { Name = "Teletherapy", Exact = true });
        await tab.ClickAsync();
        var join = appointment.GetByRole(AriaRole.Button, new() { Name = "Join Session", Exact = true });
        await Expect(join).ToBeEnabledAsync();
        await Browser.ScreenshotAsync(therapist, "03-calendar-teletherapy-tab");
        await join.ClickAsync();
        await therapist.WaitForURLAsync(new Regex($"/session/{demo.AppointmentId}"));
        await Expect(therapist.Locator(".waiting-panel")).ToContainTextAsync("Nobody is waiting.");
        await Browser.ScreenshotAsync(therapist, "04-session-room-empty");

        // Patient: the emailed link → device check → Join the session → waiting room.
        await patient.GotoAsync(server.BaseUrl + demo.JoinPath);
        await Expect(patient.Locator("main")).ToContainTextAsync($"Hello {demo.PatientName}");
        await Expect(patient.Locator("#open-status")).ToHaveTextAsync("The waiting room is open.");
        await Expect(patient.Locator(".device-check video")).ToBeVisibleAsync();
        await Browser.ScreenshotAsync(patient, "05-join-page");
        await patient.GetByRole(AriaRole.Button, new() { Name = "Test my connection", Exact = true }).ClickAsync();
        await Expect(patient.Locator("#check-status")).ToHaveAttributeAsync("data-verdict", new Regex("^(good|fair)$"), new() { Timeout = 45_000 });
        await patient.GetByRole(AriaRole.Button, new() { Name = "Join the session", Exact = true }).ClickAsync();
        var patientStatus = patient.Locator("#join-status");
        await Expect(patientStatus).ToHaveTextAsync("Your therapist knows you are here and will let you in shortly.");

        // A message from the therapist reaches the waiting room.
        await therapist.GetByLabel("Message to the waiting room").FillAsync("Running 2 minutes late, sorry!");
        await therapist.GetByRole(AriaRole.Button, new() { Name = "Send message", Exact = true }).ClickAsync();
        await Expect(patient.Locator(".messages")).ToContainTextAsync("Dr. Robin Demo: Running 2 minutes late, sorry!");
        await Browser.ScreenshotAsync(patient, "06-join-waiting");

        // Therapist: the knock appears in the waiting room; Admit.
        var entry = therapist.Locator(".waiting-entry", new() { HasText = demo.PatientName });
        await Expect(entry).ToBeVisibleAsync();
        await Expect(entry).ToContainTextAsync("Patient");
        await Expect(entry.Locator(".waited")).ToContainTextAsync(new Regex(@"^Waiting \d+ s$"));
        await Expect(entry.Locator(".check")).ToContainTextAsync(new Regex("^Connection test: (good|fair)"));
        await Browser.ScreenshotAsync(therapist, "07-session-knock");
        var admitted = Stopwatch.StartNew();
        await entry.GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();

        await Expect(patientStatus).ToHaveTextAsync("You are in the session.");
        var patientMedia = await Scenario.WaitForMediaAsync(patient);
        var therapistMedia = await Scenario.WaitForMediaAsync(therapist);
        Assert.True(admitted.Elapsed < TimeSpan.FromSeconds(15), $"Media took {admitted.Elapsed} after Admit.");
        Assert.True(patientMedia.FramesDecoded > 0 && therapistMedia.FramesDecoded > 0);
        await Expect(therapist.Locator(".tile.remote:not([hidden]) figcaption")).ToHaveTextAsync(demo.PatientName);
        await Expect(patient.Locator(".tile.remote:not([hidden]) figcaption")).ToHaveTextAsync("Dr. Robin Demo");
        await Expect(therapist.Locator(".session-entry", new() { HasText = demo.PatientName })
            .GetByRole(AriaRole.Button, new() { Name = "Send to waiting room", Exact = true })).ToBeVisibleAsync();
        await Expect(therapist.Locator(".quality")).ToHaveAttributeAsync("data-quality", new Regex("good|fair"));
        await Browser.ScreenshotAsync(therapist, "08-session-in-call");
        await Browser.ScreenshotAsync(patient, "09-join-in-session");
        await patient.SetViewportSizeAsync(390, 844);
        await Browser.ScreenshotAsync(patient, "09b-join-in-session-phone");
        await therapist.SetViewportSizeAsync(390, 844);
        await Browser.ScreenshotAsync(therapist, "08b-session-in-call-phone");
        await therapist.SetViewportSizeAsync(1024, 768);
        await patient.SetViewportSizeAsync(1024, 768);

        // Mute and camera off toggle and say so.
        var mute = patient.GetByRole(AriaRole.Button, new() { Name = "Mute", Exact = true });
        await mute.ClickAsync();
        await Expect(mute).ToHaveAttributeAsync("aria-pressed", "true");
        Assert.False(await patient.EvaluateAsync<bool>("() => window.__teletherapy.publish.getSenders().find(s => s.track && s.track.kind === 'audio').track.enabled"));
        await mute.ClickAsync();
        await Expect(mute).ToHaveAttributeAsync("aria-pressed", "false");

        // Patient leaves; the therapist's list empties; the patient comes back without knocking.
        await patient.GetByRole(AriaRole.Button, new() { Name = "Leave", Exact = true }).ClickAsync();
        await Expect(patientStatus).ToHaveTextAsync("You have left the session.");
        await Expect(therapist.Locator(".session-entry", new() { HasText = demo.PatientName })).ToHaveCountAsync(0);
        await Browser.ScreenshotAsync(patient, "10-join-left");
        await patient.GetByRole(AriaRole.Link, new() { Name = "Join the session again" }).ClickAsync();
        await patient.GetByRole(AriaRole.Button, new() { Name = "Join the session", Exact = true }).ClickAsync();
        await Expect(patientStatus).ToHaveTextAsync("You are in the session.");
        await Scenario.WaitForMediaAsync(patient);
        // The therapist, who had nobody else, sees and hears the patient again (their subscribe connection took the
        // offer that removed the patient's tracks: src/MediaRelay/Negotiation/SubscribeOffer.cs, InactiveBundleTag).
        await Scenario.WaitForMediaAsync(therapist);

        // Therapist ends the session for everyone (with a confirmation).
        await therapist.GetByRole(AriaRole.Button, new() { Name = "End session", Exact = true }).ClickAsync();
        await Browser.ScreenshotAsync(therapist, "11-session-end-confirm");
        await therapist.GetByRole(AriaRole.Button, new() { Name = "End for everyone", Exact = true }).ClickAsync();
        await Expect(therapist.Locator("#session-status")).ToContainTextAsync("The session has ended");
        await Expect(patientStatus).ToHaveTextAsync("The session has ended. Thank you.");
        await Browser.ScreenshotAsync(patient, "12-join-ended");
        await Browser.ScreenshotAsync(therapist, "13-session-ended");

        Assert.Empty(therapistErrors);
        Assert.Empty(patientErrors);
    }

    [Fact(Timeout = 150_000)]
    public async Task The_patient_receives_and_sends_no_media_before_Admit()
    {
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        await using var therapistBrowser = await Browser.LaunchAsync();
        await using var patientBrowser = await Browser.LaunchAsync();
        var errors = new List<string>();
        var therapist = await therapistBrowser.NewPageAsync(errors);
        var patient = await patientBrowser.NewPageAsync(errors);

        await Scenario.OpenSessionRoomAsync(therapist, server, demo);
        await Scenario.WaitForConnectedAsync(therapist, "publish");

        await Scenario.JoinWithLinkAsync(patient, server, demo.JoinPath);
        await Expect(patient.Locator("#join-status")).ToHaveTextAsync("Your therapist knows you are here and will let you in shortly.");

        // Both connections are up while waiting (admission will be instant), yet the relay forwards nothing either way.
        await Scenario.WaitForConnectedAsync(patient, "subscribe");
        await Scenario.WaitForConnectedAsync(patient, "publish");
        await Scenario.WaitForConnectedAsync(therapist, "subscribe");
        for (var i = 0; i < 8; i++)
        {
            var toPatient = await Scenario.InboundAsync(patient);
            var toTherapist = await Scenario.InboundAsync(therapist);
            Assert.Equal(0, toPatient.Packets);
            Assert.Equal(0, toTherapist.Packets);
            await Task.Delay(500);
        }

        Assert.Equal(0, await patient.Locator(".tile.remote:not([hidden])").CountAsync());
        Assert.Equal(0, await therapist.Locator(".tile.remote:not([hidden])").CountAsync());

        // The same connections carry media the moment the therapist admits.
        await therapist.Locator(".waiting-entry", new() { HasText = demo.PatientName })
            .GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();
        await Scenario.WaitForMediaAsync(patient);
        await Scenario.WaitForMediaAsync(therapist);
        Assert.Empty(errors);
    }
}
