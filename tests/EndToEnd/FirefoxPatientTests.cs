using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The demo flow with the patient in Firefox (Debian's firefox-esr over WebDriver BiDi, <see cref="FirefoxBrowser"/>)
/// and the therapist in Chromium: the emailed link, the knock, Admit, video and sound both ways through our relay,
/// Firefox's simulcast layers, Leave and coming back, End session. Each run starts a fresh server, so the patient's
/// call is the first after a start: the case in which Firefox was seen nominating its ICE-TCP pair as well as the UDP
/// one when our first answers were slow (src/MediaRelay/Ice/IceCandidatePairs.cs). Its media must stay on UDP, as
/// Firefox and the relay both see it.
/// </summary>
public sealed class FirefoxPatientTests(ITestOutputHelper output)
{
    [Fact(Timeout = 240_000)]
    public async Task A_Firefox_patient_is_admitted_by_a_Chromium_therapist_and_both_see_and_hear_each_other_over_UDP()
    {
        var clock = Stopwatch.StartNew();
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        var tcpMediaBefore = await TcpPacketsSentAsync(server, "media");
        await using var therapistBrowser = await Browser.LaunchAsync();
        var therapistErrors = new List<string>();
        var therapist = await therapistBrowser.NewPageAsync(therapistErrors);
        await using var patient = await FirefoxBrowser.LaunchAsync();
        output.WriteLine($"{patient.Version} started after {clock.Elapsed.TotalSeconds:F1} s");

        await patient.RunAsync("firefox-failure", async () =>
        {
            await Scenario.OpenSessionRoomAsync(therapist, server, demo);

            // Patient: the emailed link → Join the session → the waiting room.
            await patient.GotoAsync(server.BaseUrl + demo.JoinPath);
            await patient.WaitForTextContainingAsync("main", $"Hello {demo.PatientName}");
            await patient.WaitForTextAsync("#open-status", "The waiting room is open.");
            await patient.ClickAsync("Join the session");
            await patient.WaitForTextAsync("#join-status", "Your therapist knows you are here and will let you in shortly.");
            await patient.ScreenshotAsync("firefox-01-waiting");

            // Therapist: the knock from Firefox appears; Admit.
            var entry = therapist.Locator(".waiting-entry", new() { HasText = demo.PatientName });
            await Expect(entry).ToBeVisibleAsync();
            await entry.GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();
            await patient.WaitForTextAsync("#join-status", "You are in the session.");

            // Both decode video and receive sound, and keep doing so.
            var patientMedia = await Scenario.WaitForMediaAsync(PatientInbound);
            var therapistMedia = await Scenario.WaitForMediaAsync(therapist);
            output.WriteLine($"media both ways after {clock.Elapsed.TotalSeconds:F1} s: Firefox {patientMedia}, Chromium {therapistMedia}");
            await Expect(therapist.Locator(".tile.remote:not([hidden]) figcaption")).ToHaveTextAsync(demo.PatientName);
            await patient.WaitForTextAsync(".tile.remote:not([hidden]) figcaption", "Dr. Robin Demo");
            await patient.ScreenshotAsync("firefox-02-in-session");

            await AssertFirefoxSimulcastAsync(server, demo, therapist, patient);
            await AssertMediaOnUdpAsync(server, demo, therapist, patient, tcpMediaBefore);

            // Patient leaves; the therapist's list empties; the patient comes back without knocking.
            await patient.ClickAsync("Leave");
            await patient.WaitForTextAsync("#join-status", "You have left the session.");
            await Expect(therapist.Locator(".session-entry", new() { HasText = demo.PatientName })).ToHaveCountAsync(0);
            await patient.ClickAsync("Join the session again", role: "link", navigates: true);
            await patient.ClickAsync("Join the session");
            await patient.WaitForTextAsync("#join-status", "You are in the session.");
            await Scenario.WaitForMediaAsync(PatientInbound);
            await Scenario.WaitForMediaAsync(therapist);

            // Therapist ends the session for everyone.
            await therapist.GetByRole(AriaRole.Button, new() { Name = "End session", Exact = true }).ClickAsync();
            await therapist.GetByRole(AriaRole.Button, new() { Name = "End for everyone", Exact = true }).ClickAsync();
            await Expect(therapist.Locator("#session-status")).ToContainTextAsync("The session has ended");
            await patient.WaitForTextAsync("#join-status", "The session has ended. Thank you.");
            await patient.ScreenshotAsync("firefox-03-ended");

            Assert.Empty(patient.Errors);
            Assert.Empty(therapistErrors);
        });
        output.WriteLine($"done after {clock.Elapsed.TotalSeconds:F1} s");

        async Task<Inbound> PatientInbound() => Inbound.From(await patient.EvaluateAsync<double[]>(Scenario.InboundScript));
    }

    /// <summary>
    /// Firefox publishes the 640×480 fake camera in the web client's two layers (h and f, src/WebClient/src/media/simulcast.ts):
    /// the relay accepts both (a=simulcast:recv), Firefox encodes both, the relay receives both (its receiver reports on
    /// each layer's SSRC, RFC 3550 §6.4.2, are Firefox's remote-inbound-rtp), and it forwards the therapist the larger
    /// one, which Chromium decodes at that layer's height. Firefox lowers both layers' size when the machine is busy, so
    /// heights are compared with what it encodes at the time.
    /// </summary>
    private async Task AssertFirefoxSimulcastAsync(LiveServer server, DemoInfo demo, IPage therapist, FirefoxBrowser patient)
    {
        var answer = await patient.EvaluateAsync<string>("() => window.__teletherapy.publish.remoteDescription.sdp");
        Assert.Matches(@"a=simulcast:recv h;f", answer);
        var layers = await patient.WaitForAsync<Layer[]>(
            "two video layers encoding, each reported on by the relay",
            LayersScript,
            encoding => encoding.Length >= 2 && encoding.All(l => l.Reported) && encoding.Select(l => l.Height).Distinct().Count() == encoding.Length,
            timeoutMs: 30_000);
        output.WriteLine("Firefox encodes: " + string.Join(", ", layers.Select(l => l.ToString())));

        var patientId = await therapist.Locator(".session-entry", new() { HasText = demo.PatientName }).GetAttributeAsync("data-participant");
        var router = server.Services.GetRequiredService<MediaRelayService>().FindRouter(demo.AppointmentId.ToString("N"));
        Assert.NotNull(router);
        var therapistPeer = router.Peers.Single(p => p.Id != patientId);
        var until = Stopwatch.StartNew();
        while (true)
        {
            var forwarded = therapistPeer.ReceivedEncodings.Values.DefaultIfEmpty(-1).Max();
            var height = await therapist.EvaluateAsync<int>(
                """
                async () => {
                  let height = 0;
                  (await window.__teletherapy.subscribe.getStats()).forEach((r) => {
                    if (r.type === 'inbound-rtp' && r.kind === 'video') height = Math.max(height, r.frameHeight || 0);
                  });
                  return height;
                }
                """);
            layers = await patient.EvaluateAsync<Layer[]>(LayersScript);
            var smallest = layers.Length > 0 ? layers.Min(l => l.Height) : 0;
            if (forwarded >= 1 && height > smallest)
            {
                output.WriteLine($"the relay forwards the therapist Firefox's encoding {forwarded}, decoded at {height} lines");
                break;
            }

            Assert.True(
                until.Elapsed < TimeSpan.FromSeconds(45),
                $"The therapist did not get Firefox's larger layer: the relay forwards encoding {forwarded}, Chromium decodes {height} lines, Firefox encodes {string.Join(", ", layers.Select(l => l.ToString()))}.");
            await Task.Delay(250);
        }
    }

    /// <summary>Firefox's video layers whose frames-encoded count grows over a second, with their height and whether the relay reports on them.</summary>
    private const string LayersScript =
        """
        async () => {
          const read = async () => {
            const stats = await window.__teletherapy.publish.getStats();
            const layers = {};
            stats.forEach((r) => {
              if (r.type !== 'outbound-rtp' || r.kind !== 'video') return;
              const reported = [...stats.values()].some((s) => s.type === 'remote-inbound-rtp' && s.localId === r.id);
              layers[r.rid || '-'] = { rid: r.rid || '-', frames: r.framesEncoded || 0, height: r.frameHeight || 0, reported };
            });
            return layers;
          };
          const before = await read();
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const after = await read();
          return Object.values(after).filter((l) => l.frames > (before[l.rid] ? before[l.rid].frames : 0));
        }
        """;

    private sealed record Layer(string Rid, int Frames, int Height, bool Reported)
    {
        public override string ToString() => $"{Rid} {Height}p{(Reported ? string.Empty : " (no report from the relay)")}";
    }

    /// <summary>
    /// The patient's media go over UDP both ways. Firefox: the selected candidate pair of each connection is UDP at both
    /// ends, and its ICE-TCP pairs (if it checked or even nominated them) carried next to nothing, where a relay sending on
    /// a nominated TCP pair shows as bytes received on it. The relay: next to no DTLS, RTP or RTCP went out on ICE-TCP
    /// connections since the server started (STUN answers to checks do, and are not counted), while the patient received
    /// hundreds of RTP packets.
    /// </summary>
    private async Task AssertMediaOnUdpAsync(LiveServer server, DemoInfo demo, IPage therapist, FirefoxBrowser patient, double tcpMediaBefore)
    {
        var pairs = await patient.EvaluateAsync<JsonElement>(
            """
            async () => {
              const result = {};
              for (const which of ['publish', 'subscribe']) {
                const stats = await window.__teletherapy[which].getStats();
                const pairs = [];
                stats.forEach((r) => {
                  if (r.type !== 'candidate-pair') return;
                  const local = stats.get(r.localCandidateId) || {};
                  const remote = stats.get(r.remoteCandidateId) || {};
                  pairs.push({ selected: !!r.selected, nominated: !!r.nominated, state: r.state, local: local.protocol || '?',
                    remote: remote.protocol || '?', sent: r.bytesSent || 0, received: r.bytesReceived || 0 });
                });
                result[which] = pairs;
              }
              return result;
            }
            """);
        output.WriteLine("Firefox candidate pairs: " + pairs);
        var problems = new List<string>();
        foreach (var connection in pairs.EnumerateObject())
        {
            var all = connection.Value.EnumerateArray().ToList();
            var selected = all.Where(p => p.GetProperty("selected").GetBoolean()).ToList();
            if (selected.Count != 1 || selected[0].GetProperty("local").GetString() != "udp" || selected[0].GetProperty("remote").GetString() != "udp")
            {
                problems.Add($"Firefox's {connection.Name} connection did not select exactly one UDP pair.");
            }
            else if (selected[0].GetProperty("sent").GetInt64() + selected[0].GetProperty("received").GetInt64() < 50_000)
            {
                problems.Add($"Firefox's {connection.Name} media did not go over its selected pair.");
            }

            var onTcp = all.Where(p => p.GetProperty("local").GetString() == "tcp").Sum(p => p.GetProperty("sent").GetInt64() + p.GetProperty("received").GetInt64());
            if (onTcp >= 10_000)
            {
                problems.Add($"Firefox's {connection.Name} connection moved {onTcp} bytes over ICE-TCP pairs.");
            }
        }

        var patientId = await therapist.Locator(".session-entry", new() { HasText = demo.PatientName }).GetAttributeAsync("data-participant");
        var patientPeer = server.Services.GetRequiredService<MediaRelayService>().FindRouter(demo.AppointmentId.ToString("N"))!.Peers.Single(p => p.Id == patientId);
        var toPatient = patientPeer.PacketsSent;
        var onTcpAtRelay = await TcpPacketsSentAsync(server, "media") - tcpMediaBefore;
        output.WriteLine($"the relay sent the patient {toPatient} RTP packets; DTLS, RTP and RTCP packets sent on ICE-TCP since the start: {onTcpAtRelay}");
        if (toPatient < 300)
        {
            problems.Add($"The relay sent the Firefox patient only {toPatient} RTP packets.");
        }

        if (onTcpAtRelay >= 50)
        {
            problems.Add($"The relay sent {onTcpAtRelay} DTLS, RTP and RTCP packets on ICE-TCP connections while every client had UDP: a client's media went over TCP.");
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\nFirefox's candidate pairs: " + pairs);
    }

    /// <summary>The relay's <c>teletherapy_relay_tcp_packets_sent_total</c> of this kind (stun or media) as its <c>/metrics</c> shows it.</summary>
    private static async Task<double> TcpPacketsSentAsync(LiveServer server, string kind)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var metrics = await http.GetStringAsync(server.BaseUrl + "/metrics");
        var line = Regex.Match(metrics, $"^teletherapy_relay_tcp_packets_sent_total\\{{kind=\"{kind}\"\\}} (\\S+)$", RegexOptions.Multiline);
        Assert.True(line.Success, $"/metrics has no teletherapy_relay_tcp_packets_sent_total{{kind=\"{kind}\"}}.");
        return double.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
