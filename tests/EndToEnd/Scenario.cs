using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Teletherapy.EndToEnd;

/// <summary>demo.json as the server writes it.</summary>
public sealed record DemoInfo(string TherapistEmail, string TherapistPassword, string CalendarUrl, string PatientJoinUrl, Guid AppointmentId, string PatientName)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static DemoInfo Read(string dataPath) =>
        JsonSerializer.Deserialize<DemoInfo>(File.ReadAllText(Path.Combine(dataPath, "demo.json")), Json)!;

    /// <summary>The join link's path (the link's host is the configured public address, the test server's port differs).</summary>
    public string JoinPath => new Uri(PatientJoinUrl).PathAndQuery;
}

/// <summary>Steps the browser tests share: signing in, the REST API with a key, and media stats read from the page.</summary>
public static partial class Scenario
{
    public const string ApiKey = "e2e-integrator-key";

    static Scenario()
    {
        Assertions.SetDefaultExpectTimeout(15_000);
    }

    public static Dictionary<string, string?> DemoSettings() => new()
    {
        ["Teletherapy:Demo"] = "true",
        ["Teletherapy:ApiKeys:0"] = ApiKey,
    };

    public static HttpClient Integrator(LiveServer server)
    {
        var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromSeconds(20) };
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    public static async Task<JsonElement> PostAsync(HttpClient client, string path, object body)
    {
        var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static Task SignInAsync(IPage page, LiveServer server, string email, string password) =>
        SignInAsync(page, server.BaseUrl, email, password);

    public static async Task SignInAsync(IPage page, string baseUrl, string email, string password)
    {
        await page.GotoAsync(baseUrl + "/");
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync(email);
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/schedule/calendar"), new() { Timeout = 15_000 });
    }

    /// <summary>The demo therapist signs in and opens the demo appointment's session room, where nobody waits yet.</summary>
    public static Task OpenSessionRoomAsync(IPage therapist, LiveServer server, DemoInfo demo) =>
        OpenSessionRoomAsync(therapist, server.BaseUrl, demo);

    public static async Task OpenSessionRoomAsync(IPage therapist, string baseUrl, DemoInfo demo)
    {
        await SignInAsync(therapist, baseUrl, demo.TherapistEmail, demo.TherapistPassword);
        await therapist.GotoAsync($"{baseUrl}/session/{demo.AppointmentId}");
        await Assertions.Expect(therapist.Locator(".waiting-panel")).ToContainTextAsync("Nobody is waiting.");
    }

    /// <summary>
    /// The therapist opens the demo session room, the patient joins with the demo link, and the therapist admits them
    /// from the waiting room: the patient's page says they are in the session.
    /// </summary>
    public static async Task AdmitDemoPatientAsync(IPage therapist, IPage patient, LiveServer server, DemoInfo demo)
    {
        await OpenSessionRoomAsync(therapist, server, demo);
        await JoinWithLinkAsync(patient, server, demo.JoinPath);
        await therapist.Locator(".waiting-entry", new() { HasText = demo.PatientName })
            .GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();
        await Assertions.Expect(patient.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
    }

    /// <summary>A contact opens their join link and presses Join the session.</summary>
    public static Task JoinWithLinkAsync(IPage page, LiveServer server, string joinPath) => JoinWithLinkAsync(page, server.BaseUrl, joinPath);

    public static async Task JoinWithLinkAsync(IPage page, string baseUrl, string joinPath)
    {
        await page.GotoAsync(baseUrl + joinPath);
        await page.GetByRole(AriaRole.Button, new() { Name = "Join the session", Exact = true }).ClickAsync();
    }

    /// <summary>
    /// A page function giving totals over the subscribe connection's inbound-rtp: video frames decoded, audio packets,
    /// all packets and the number of inbound-rtp reports (<see cref="Inbound.From"/> reads them).
    /// </summary>
    public const string InboundScript =
        """
            async () => {
              const pc = window.__teletherapy && window.__teletherapy.subscribe;
              if (!pc) return [0, 0, 0, 0];
              const stats = await pc.getStats();
              let frames = 0, audio = 0, packets = 0, reports = 0;
              stats.forEach((r) => {
                if (r.type !== 'inbound-rtp') return;
                reports++;
                packets += r.packetsReceived || 0;
                if (r.kind === 'video') frames += r.framesDecoded || 0;
                if (r.kind === 'audio') audio += r.packetsReceived || 0;
              });
              return [frames, audio, packets, reports];
            }
            """;

    /// <summary>Totals over the subscribe connection's inbound-rtp: video frames decoded, audio packets, all packets.</summary>
    public static async Task<Inbound> InboundAsync(IPage page) => Inbound.From(await page.EvaluateAsync<double[]>(InboundScript));

    public static Task<string> ConnectionStateAsync(IPage page, string which) =>
        page.EvaluateAsync<string>($"() => (window.__teletherapy && window.__teletherapy.{which}) ? window.__teletherapy.{which}.connectionState : 'none'");

    public static async Task WaitForConnectedAsync(IPage page, string which, int timeoutMs = 20_000)
    {
        var until = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        string state;
        while ((state = await ConnectionStateAsync(page, which)) != "connected")
        {
            Assert.True(DateTime.UtcNow < until, $"The {which} connection is {state}, not connected.");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits until the page decodes video and receives audio, and both keep increasing.</summary>
    public static Task<Inbound> WaitForMediaAsync(IPage page, int timeoutMs = 20_000) => WaitForMediaAsync(() => InboundAsync(page), timeoutMs);

    /// <summary>Waits until <paramref name="inbound"/> shows decoded video and received audio, and both keep increasing.</summary>
    public static async Task<Inbound> WaitForMediaAsync(Func<Task<Inbound>> inbound, int timeoutMs = 20_000)
    {
        var until = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        Inbound first;
        while (true)
        {
            first = await inbound();
            if (first.FramesDecoded > 0 && first.AudioPackets > 0)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < until, $"No media arrived: {first}.");
            await Task.Delay(200);
        }

        await Task.Delay(1500);
        var second = await inbound();
        Assert.True(second.FramesDecoded > first.FramesDecoded, $"Video frames stopped: {first} then {second}.");
        Assert.True(second.AudioPackets > first.AudioPackets, $"Audio stopped: {first} then {second}.");
        return second;
    }

    /// <summary>Messages the browser reports as errors, except failed loads of responses the test expects (4xx of a refusal).</summary>
    public static List<string> Unexpected(IEnumerable<string> errors) =>
        errors.Where(e => !e.StartsWith("Failed to load resource", StringComparison.Ordinal)).ToList();
}

public sealed record Inbound(long FramesDecoded, long AudioPackets, long Packets, int Reports)
{
    /// <summary>The values <see cref="Scenario.InboundScript"/> returns.</summary>
    public static Inbound From(double[] values) => new((long)values[0], (long)values[1], (long)values[2], (int)values[3]);
}
