using Microsoft.Playwright;

namespace Teletherapy.EndToEnd;

/// <summary>
/// A join link opens a seat for one device: a forwarded link in another browser knocks as a second device while the
/// patient keeps their media, and the patient's own reload goes straight back in.
/// </summary>
public sealed class SeatTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_second_browser_with_the_link_knocks_as_a_second_device_and_the_patient_keeps_media_and_can_reload()
    {
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        await using var browser = await Browser.LaunchAsync();
        var therapist = await browser.NewPageAsync();
        var patient = await browser.NewPageAsync();
        await Scenario.AdmitDemoPatientAsync(therapist, patient, server, demo);
        await Scenario.WaitForMediaAsync(patient);

        // Someone else opens the same link in another browser.
        await using var elsewhere = await Browser.LaunchAsync();
        var intruder = await elsewhere.NewPageAsync();
        await Scenario.JoinWithLinkAsync(intruder, server, demo.JoinPath);
        var entry = therapist.Locator(".waiting-entry", new() { HasText = "(second device)" });
        await Assertions.Expect(entry).ToContainTextAsync("Second device");
        await Assertions.Expect(intruder.Locator("#join-status")).Not.ToHaveTextAsync("You are in the session.");
        await Browser.ScreenshotAsync(therapist, "second-device-knocks");

        // The patient was not disturbed: still in the session, media still arriving; the intruder receives nothing.
        await Assertions.Expect(patient.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
        await Scenario.WaitForMediaAsync(patient);
        Assert.Equal(0, (await Scenario.InboundAsync(intruder)).Packets);

        // Denied, the second device is out; the patient's own tab reloads and is back in without a knock.
        await entry.GetByRole(AriaRole.Button, new() { Name = "Deny", Exact = true }).ClickAsync();
        await Assertions.Expect(therapist.Locator(".waiting-entry")).ToHaveCountAsync(0);
        await patient.ReloadAsync();
        await patient.GetByRole(AriaRole.Button, new() { Name = "Join the session", Exact = true }).ClickAsync();
        await Assertions.Expect(patient.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
        await Assertions.Expect(therapist.Locator(".waiting-entry")).ToHaveCountAsync(0);
        await Scenario.WaitForMediaAsync(patient);
    }
}
