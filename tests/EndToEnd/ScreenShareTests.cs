using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// Screen sharing (issue #18): the therapist shares a screen with one click and the patient receives it as a second
/// video track, decoded and shown larger than the camera; one click stops it. The patient may share only once the
/// therapist allows it, and taking the right back stops their share. Chromium's fake capture devices stand in for the
/// screen (getDisplayMedia with the fake media UI picks it without asking).
/// </summary>
public sealed class ScreenShareTests
{
    private const string ScreenTile = ".tile.remote[data-kind='screen']";

    [Fact(Timeout = 240_000)]
    public async Task The_therapists_screen_reaches_the_patient_as_a_second_video_track_and_the_patient_shares_only_when_allowed()
    {
        await using var call = await DemoCall.StartAsync();
        var (therapist, patient, demo) = (call.Therapist, call.Patient, call.Demo);
        await Scenario.AdmitDemoPatientAsync(therapist, patient, call.Server, demo);
        await Scenario.WaitForMediaAsync(patient);

        // The therapist shares: the patient decodes a second video track, in a tile of its own, larger than the camera's.
        var share = therapist.GetByRole(AriaRole.Button, new() { Name = "Share screen", Exact = true });
        await share.ClickAsync();
        var stop = therapist.GetByRole(AriaRole.Button, new() { Name = "Stop sharing", Exact = true });
        await Expect(stop).ToBeVisibleAsync();
        await Expect(patient.Locator(ScreenTile)).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(patient.Locator(ScreenTile)).ToHaveAttributeAsync("data-featured", "true");
        await Expect(patient.Locator($"{ScreenTile} figcaption")).ToHaveTextAsync("Dr. Robin Demo · screen");
        await WaitForFramesAsync(patient, "screen");
        await WaitForFramesAsync(patient, "camera");
        Assert.Equal(2, await VideoTracksAsync(patient));
        var screenBox = (await patient.Locator(ScreenTile).BoundingBoxAsync())!;
        var cameraBox = (await patient.Locator(".tile.remote[data-kind='camera']").BoundingBoxAsync())!;
        Assert.True(screenBox.Width * screenBox.Height > 2 * cameraBox.Width * cameraBox.Height, $"screen {screenBox.Width}×{screenBox.Height}, camera {cameraBox.Width}×{cameraBox.Height}");
        await Browser.ScreenshotAsync(patient, "24-patient-sees-shared-screen");

        // One click stops it: the patient's screen tile goes, the camera keeps going.
        await stop.ClickAsync();
        await Expect(share).ToBeVisibleAsync();
        await Expect(patient.Locator(ScreenTile)).ToBeHiddenAsync(new() { Timeout = 30_000 });
        await Scenario.WaitForMediaAsync(patient);

        // The patient has no Share screen until the therapist allows it.
        var patientShare = patient.GetByRole(AriaRole.Button, new() { Name = "Share screen", Exact = true });
        await Expect(patientShare).ToBeHiddenAsync();
        var allow = therapist.Locator(".session-entry", new() { HasText = demo.PatientName })
            .GetByRole(AriaRole.Button, new() { Name = "Allow screen sharing", Exact = true });
        await allow.ClickAsync();
        await Expect(allow).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(patientShare).ToBeVisibleAsync();
        await patientShare.ClickAsync();
        await Expect(patient.GetByRole(AriaRole.Button, new() { Name = "Stop sharing", Exact = true })).ToBeVisibleAsync();
        await Expect(therapist.Locator(ScreenTile)).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await WaitForFramesAsync(therapist, "screen");

        // Taken back, the share stops at once (the relay closes it) and the button goes.
        await allow.ClickAsync();
        await Expect(allow).ToHaveAttributeAsync("aria-pressed", "false");
        await Expect(therapist.Locator(ScreenTile)).ToBeHiddenAsync(new() { Timeout = 30_000 });
        await Expect(patientShare).ToBeHiddenAsync();
        await Expect(patient.GetByRole(AriaRole.Button, new() { Name = "Stop sharing", Exact = true })).ToBeHiddenAsync();

        Assert.Empty(Scenario.Unexpected(call.Errors));
    }

    /// <summary>Waits until the video of the page's first visible tile of this kind has decoded frames, and more two seconds later.</summary>
    private static async Task WaitForFramesAsync(IPage page, string kind)
    {
        long first = 0;
        await QualityTests.WaitUntilAsync(async () => (first = await FramesAsync(page, kind)) > 0, TimeSpan.FromSeconds(30), $"{kind} frames decoded");
        await QualityTests.WaitUntilAsync(async () => await FramesAsync(page, kind) > first, TimeSpan.FromSeconds(15), $"more {kind} frames after {first}");
    }

    private static Task<long> FramesAsync(IPage page, string kind) =>
        page.EvaluateAsync<long>(
            """
            async (kind) => {
              const tile = document.querySelector(`.tile.remote[data-kind="${kind}"]:not([hidden])`);
              const track = tile && tile.querySelector('video').srcObject && tile.querySelector('video').srcObject.getVideoTracks()[0];
              if (!track) return 0;
              let frames = 0;
              (await window.__teletherapy.subscribe.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp' && r.kind === 'video' && r.trackIdentifier === track.id) frames = r.framesDecoded || 0;
              });
              return frames;
            }
            """,
            kind);

    /// <summary>Video tracks the page's subscribe connection receives (inbound-rtp video with packets).</summary>
    private static Task<int> VideoTracksAsync(IPage page) =>
        page.EvaluateAsync<int>(
            """
            async () => {
              let count = 0;
              (await window.__teletherapy.subscribe.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp' && r.kind === 'video' && r.packetsReceived > 0) count++;
              });
              return count;
            }
            """);
}
