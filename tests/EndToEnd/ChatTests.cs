using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The session chat (issue #18) with the therapist, the patient and a caregiver, each in their own Chromium: an unread
/// mark while the panel is closed, every message in the same order in every tab, the note that messages are not kept,
/// and nothing of them left on any page once the therapist ends the session.
/// </summary>
public sealed class ChatTests
{
    [Fact(Timeout = 240_000)]
    public async Task Messages_arrive_in_order_in_every_tab_and_are_gone_after_End_session()
    {
        await using var call = await DemoCall.StartAsync();
        var (server, demo, therapist, patient) = (call.Server, call.Demo, call.Therapist, call.Patient);
        var caregiver = await call.NewPageAsync();
        var pages = new[] { therapist, patient, caregiver };

        await Scenario.OpenSessionRoomAsync(therapist, server, demo);
        await Scenario.JoinWithLinkAsync(patient, server, demo.JoinPath);
        var (_, caregiverPath) = WaitingRoomControlsTests.OtherJoinLink(server.DataPath, demo.PatientName);
        await Scenario.JoinWithLinkAsync(caregiver, server, caregiverPath);
        await Expect(therapist.Locator(".waiting-entry")).ToHaveCountAsync(2);
        await therapist.GetByRole(AriaRole.Button, new() { Name = "Admit all", Exact = true }).ClickAsync();
        foreach (var page in new[] { patient, caregiver })
        {
            await Expect(page.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
        }

        // The therapist opens the chat and writes; the patient's closed chat shows one unread message.
        await OpenChatAsync(therapist);
        await SendAsync(therapist, "Hello, can everyone read this?");
        var patientChat = patient.GetByRole(AriaRole.Button, new() { Name = "Chat", Exact = true });
        await Expect(patientChat).ToHaveAttributeAsync("data-unread", "1");
        await Expect(patientChat.Locator(".unread-badge")).ToHaveTextAsync("1");
        await Expect(patientChat).ToHaveAccessibleDescriptionAsync("1 unread message");
        await OpenChatAsync(patient);
        await Expect(patientChat).ToHaveAttributeAsync("data-unread", "0");
        await Expect(patientChat.Locator(".unread-badge")).ToBeHiddenAsync();
        await OpenChatAsync(caregiver);
        foreach (var page in pages)
        {
            await Expect(page.Locator(".chat-note")).ToContainTextAsync("They are not kept after the session ends.");
        }

        // Everyone writes in turn; every tab lists all of it in the same order.
        string[] expected = ["Hello, can everyone read this?", "Yes, loud and clear.", "Me too, thank you.", "Good. Let's start."];
        await SendAsync(patient, expected[1]);
        await SendAsync(caregiver, expected[2]);
        await SendAsync(therapist, expected[3]);
        foreach (var page in pages)
        {
            await Expect(page.Locator(".chat-messages .chat-text")).ToHaveTextAsync(expected);
        }

        await Expect(patient.Locator(".chat-messages li.own .chat-meta")).ToContainTextAsync("You");
        await Browser.ScreenshotAsync(therapist, "25-session-chat");

        // End session: every page says the session has ended, and none of the messages is left on any of them.
        await therapist.GetByRole(AriaRole.Button, new() { Name = "End session", Exact = true }).ClickAsync();
        await therapist.GetByRole(AriaRole.Button, new() { Name = "End for everyone", Exact = true }).ClickAsync();
        await Expect(therapist.Locator("#session-status")).ToContainTextAsync("The session has ended");
        foreach (var page in new[] { patient, caregiver })
        {
            await Expect(page.Locator("#join-status")).ToHaveTextAsync("The session has ended. Thank you.");
        }

        foreach (var page in pages)
        {
            await Expect(page.Locator(".chat-messages li")).ToHaveCountAsync(0);
            var text = await page.ContentAsync();
            Assert.DoesNotContain(expected, text.Contains);
        }

        Assert.Empty(Scenario.Unexpected(call.Errors));
    }

    private static async Task OpenChatAsync(IPage page)
    {
        var button = page.GetByRole(AriaRole.Button, new() { Name = "Chat", Exact = true });
        await button.ClickAsync();
        await Expect(button).ToHaveAttributeAsync("aria-expanded", "true");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Chat", Exact = true })).ToBeVisibleAsync();
    }

    /// <summary>Sends a message and waits until it is in the sender's own list (the server numbered it).</summary>
    private static async Task SendAsync(IPage page, string text)
    {
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync(text);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await Expect(page.Locator(".chat-messages .chat-text", new() { HasText = text })).ToBeVisibleAsync();
    }
}
