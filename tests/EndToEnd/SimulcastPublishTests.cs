using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The web client publishes its camera in simulcast layers (src/WebClient/src/media/simulcast.ts): in the real session
/// flow both browsers send several rid encodings, the relay receives them as layers of one track and forwards a layer
/// above the lowest to the other side, which keeps decoding. The fake camera gives the 640×480 the client asks for,
/// so two layers are offered: h (320×240) and f (640×480). Turning the camera off keeps the video flowing; switching the camera keeps the layers, and the new camera is seen.
/// </summary>
public sealed class SimulcastPublishTests(ITestOutputHelper output)
{
    [Fact(Timeout = 90_000)]
    public async Task Therapist_and_patient_publish_their_camera_in_several_layers_and_the_relay_forwards_one_above_the_lowest()
    {
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        await using var therapistBrowser = await Browser.LaunchAsync(fakeDevices: "device-count=3");
        await using var patientBrowser = await Browser.LaunchAsync();
        var errors = new List<string>();
        var therapist = await therapistBrowser.NewPageAsync(errors);
        var patient = await patientBrowser.NewPageAsync(errors);

        await Scenario.AdmitDemoPatientAsync(therapist, patient, server, demo);
        await Scenario.WaitForMediaAsync(patient);
        await Scenario.WaitForMediaAsync(therapist);

        // The relay answered each publisher's layers (RFC 8853 a=simulcast:recv), so the browser keeps them all: the half and
        // the full picture of the 640×480 camera.
        foreach (var page in new[] { therapist, patient })
        {
            var answer = await page.EvaluateAsync<string>("() => window.__teletherapy.publish.remoteDescription.sdp");
            Assert.Matches(@"a=simulcast:recv \w+(;\w+)+", answer);
        }

        // Each browser encodes at least two layers, the largest more than the half picture (a client that offered layers
        // Chromium drops would send only small ones), and the relay forwards each subscriber a layer above the lowest:
        // a publisher with one encoding would show a single rid-less stream and encoding 0 at the relay.
        var router = server.Services.GetRequiredService<MediaRelayService>().FindRouter(demo.AppointmentId.ToString("N"));
        Assert.NotNull(router);
        var until = Stopwatch.StartNew();
        string last;
        while (true)
        {
            var therapistLayers = await LayersEncodingAsync(therapist);
            var patientLayers = await LayersEncodingAsync(patient);
            var forwarded = router.Peers.Select(p => p.ReceivedEncodings.Values.DefaultIfEmpty(-1).Max()).ToList();
            last = $"therapist encodes [{string.Join(", ", therapistLayers)}], patient encodes [{string.Join(", ", patientLayers)}], relay forwards encodings [{string.Join(", ", forwarded)}]";
            if (therapistLayers.Count >= 2 && patientLayers.Count >= 2 && therapistLayers.Max(l => l.Height) >= 360 && patientLayers.Max(l => l.Height) >= 360
                && forwarded.Count == 2 && forwarded.All(e => e >= 1))
            {
                break;
            }

            Assert.True(until.Elapsed < TimeSpan.FromSeconds(20), "The web client's layers did not arrive: " + last);
        }

        output.WriteLine(last);

        // Both sides still decode video (and hear audio) on the layer they get.
        await Scenario.WaitForMediaAsync(patient);
        await Scenario.WaitForMediaAsync(therapist);

        // Camera off: the track is disabled (black frames on every layer), the patient's video keeps playing.
        const string SentVideo = "() => window.__teletherapy.publish.getSenders().find(s => s.track && s.track.kind === 'video')";
        var cameraOff = therapist.GetByRole(AriaRole.Button, new() { Name = "Camera off", Exact = true });
        await cameraOff.ClickAsync();
        Assert.False(await therapist.EvaluateAsync<bool>($"() => ({SentVideo})().track.enabled"));
        await Scenario.WaitForMediaAsync(patient);
        await cameraOff.ClickAsync();

        // The therapist switches to another camera: the sender takes the new track and keeps its layers.
        var before = await therapist.EvaluateAsync<string>($"() => ({SentVideo})().track.id");
        // The camera and microphone choices are behind the call bar's Devices menu.
        await therapist.GetByText("Devices", new() { Exact = true }).ClickAsync();
        var cameras = therapist.GetByLabel("Camera", new() { Exact = true });
        await Expect(cameras).ToBeEnabledAsync();
        var other = await cameras.Locator("option:not(:checked)").Last.GetAttributeAsync("value");
        await cameras.SelectOptionAsync(other!);
        await therapist.WaitForFunctionAsync($"() => ({SentVideo})().track.id !== '{before}'");
        Assert.Equal("h,f", await therapist.EvaluateAsync<string>($"() => ({SentVideo})().getParameters().encodings.map(e => e.rid).join(',')"));
        // The new camera's frames are encoded in every layer and reach the patient. (Chromium's second fake camera
        // is a depth camera, which encoders do not take; the third is an ordinary one.)
        var afterSwitch = await LayersEncodingAsync(therapist);
        Assert.True(afterSwitch.Count >= 2, "layers encoding after the switch: " + string.Join(", ", afterSwitch));
        await Scenario.WaitForMediaAsync(patient);
        Assert.Empty(Scenario.Unexpected(errors));
    }

    /// <summary>
    /// The page reports each remote tile's size (SetVideoSize) and the relay forwards no larger layer than the tile needs:
    /// the patient's stage made 200×150 CSS pixels leaves the therapist's tile no larger, so the half layer (320×240)
    /// covers it and the decoded picture drops to 240 rows; the stage back to its size brings the full 480 again.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task A_small_tile_receives_the_small_layer_and_the_full_one_again_when_it_grows()
    {
        await using var call = await DemoCall.StartAsync();
        var patient = call.Patient;
        await Scenario.AdmitDemoPatientAsync(call.Therapist, patient, call.Server, call.Demo);
        await Scenario.WaitForMediaAsync(patient);
        var router = call.Server.Services.GetRequiredService<MediaRelayService>().FindRouter(call.Demo.AppointmentId.ToString("N"));
        Assert.NotNull(router);
        string Forwarded() => string.Join(", ", router.Peers.Select(p => $"{p.Id}: {string.Join('/', p.ReceivedEncodings.Values)}"));

        // The tile is large (the stage of a 1024×768 window): the full layer, once the therapist's browser sends it.
        await WaitForReceivedHeightAsync(patient, h => h >= 480, "the full layer in a large tile", TimeSpan.FromSeconds(40));

        const string Stage = "document.querySelector('.call-stage')";
        await patient.EvaluateAsync($"() => {{ const s = {Stage}; s.style.setProperty('width', '200px', 'important'); s.style.setProperty('height', '150px', 'important'); }}");
        await WaitForReceivedHeightAsync(patient, h => h is > 0 and <= 240, "the half layer in a 200×150 tile", TimeSpan.FromSeconds(20));
        output.WriteLine($"small tile: the relay forwards encodings {Forwarded()}");

        await patient.EvaluateAsync($"() => {{ const s = {Stage}; s.style.removeProperty('width'); s.style.removeProperty('height'); }}");
        await WaitForReceivedHeightAsync(patient, h => h >= 480, "the full layer when the tile grows again", TimeSpan.FromSeconds(20));
        output.WriteLine($"large tile: the relay forwards encodings {Forwarded()}");
        Assert.Empty(Scenario.Unexpected(call.Errors));
    }

    /// <summary>Waits until the picture the page decodes from its receive connection has a height that <paramref name="match"/>es.</summary>
    private async Task WaitForReceivedHeightAsync(IPage page, Func<int, bool> match, string what, TimeSpan limit)
    {
        const string Read = """
            async () => {
              const pc = window.__teletherapy && window.__teletherapy.subscribe;
              let height = 0;
              if (!pc) return height;
              (await pc.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp' && r.kind === 'video' && r.frameHeight) height = Math.max(height, r.frameHeight);
              });
              return height;
            }
            """;
        var until = Stopwatch.StartNew();
        var heights = new List<int>();
        while (true)
        {
            var height = await page.EvaluateAsync<int>(Read);
            if (heights.Count == 0 || heights[^1] != height)
            {
                heights.Add(height);
            }

            if (match(height))
            {
                output.WriteLine($"{what}: {height} rows after {until.Elapsed.TotalSeconds:0.0} s (heights seen: {string.Join(", ", heights)})");
                return;
            }

            Assert.True(until.Elapsed < limit, $"Not {what} within {limit.TotalSeconds} s: heights seen {string.Join(", ", heights)}");
            await Task.Delay(250);
        }
    }

    /// <summary>The rids of the publish connection's video encodings whose frames-encoded count grows over a second, with their frame heights.</summary>
    private static async Task<List<Layer>> LayersEncodingAsync(IPage page)
    {
        const string Read = """
            async () => {
              const pc = window.__teletherapy && window.__teletherapy.publish;
              const layers = [];
              if (!pc) return layers;
              (await pc.getStats()).forEach((r) => {
                if (r.type === 'outbound-rtp' && r.kind === 'video') layers.push(`${r.rid || '-'} ${r.framesEncoded || 0} ${r.frameHeight || 0}`);
              });
              return layers;
            }
            """;
        var before = (await page.EvaluateAsync<string[]>(Read)).Select(l => l.Split(' ')).ToDictionary(l => l[0], l => long.Parse(l[1], CultureInfo.InvariantCulture));
        await Task.Delay(1000);
        var growing = new List<Layer>();
        foreach (var layer in (await page.EvaluateAsync<string[]>(Read)).Select(l => l.Split(' ')))
        {
            if (long.Parse(layer[1], CultureInfo.InvariantCulture) > before.GetValueOrDefault(layer[0]))
            {
                growing.Add(new Layer(layer[0], int.Parse(layer[2], CultureInfo.InvariantCulture)));
            }
        }

        return growing;
    }

    private sealed record Layer(string Rid, int Height)
    {
        public override string ToString() => $"{Rid} {Height}p";
    }
}
