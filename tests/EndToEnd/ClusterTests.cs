using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// Two cluster nodes in processes of their own behind a real haproxy with sticky sessions, two Chromiums (a therapist's
/// and a patient's computer): the session spans both nodes and survives the loss of the node that holds its room.
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output)
{
    /// <summary>From the kill of the room's node to both browsers decoding again (the bound).</summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(15);

    private readonly List<string> _therapistErrors = [];
    private readonly List<string> _patientErrors = [];
    private IPage[] _pages = [];

    [Fact(Timeout = 300_000)]
    public async Task Therapist_and_patient_on_different_nodes_meet_and_the_call_comes_back_without_a_knock_when_the_rooms_node_is_killed()
    {
        await using var cluster = await ClusterProcesses.StartAsync();
        await using var therapistComputer = await Browser.LaunchAsync();
        await using var patientComputer = await Browser.LaunchAsync();
        try
        {
            await RunAsync(cluster, therapistComputer, patientComputer);
        }
        catch
        {
            output.WriteLine("therapist's page errors: " + string.Join("\n", _therapistErrors));
            output.WriteLine("patient's page errors: " + string.Join("\n", _patientErrors));
            foreach (var page in _pages)
            {
                output.WriteLine("page text: " + await page.InnerTextAsync("body").WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : "?", TaskScheduler.Default));
            }

            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    private async Task RunAsync(ClusterProcesses cluster, Browser therapistComputer, Browser patientComputer)
    {
        var demo = cluster.Demo;
        var therapist = await therapistComputer.NewPageAsync(_therapistErrors);
        var patient = await patientComputer.NewPageAsync(_patientErrors);
        _pages = [therapist, patient];

        // Each computer's first visit is placed round-robin and then kept there by the proxy's cookie.
        await Scenario.OpenSessionRoomAsync(therapist, cluster.BaseUrl, demo);
        await Scenario.JoinWithLinkAsync(patient, cluster.BaseUrl, demo.JoinPath);
        var therapistNode = await NodeOfAsync(therapistComputer);
        var patientNode = await NodeOfAsync(patientComputer);
        Assert.NotEqual(therapistNode, patientNode);
        // The servers' own count agrees: one hub connection on each node.
        await QualityTests.WaitUntilAsync(async () => await cluster.Nodes[therapistNode].MetricAsync("teletherapy_hub_connections") == 1
            && await cluster.Nodes[patientNode].MetricAsync("teletherapy_hub_connections") == 1, TimeSpan.FromSeconds(20), "one hub connection on each node");
        output.WriteLine($"therapist's hub on node {therapistNode}, patient's on node {patientNode}");

        await therapist.Locator(".waiting-entry", new() { HasText = demo.PatientName })
            .GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();
        await Assertions.Expect(patient.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
        await Scenario.WaitForMediaAsync(therapist);
        await Scenario.WaitForMediaAsync(patient);
        var home = await cluster.HomeAsync();
        output.WriteLine($"the room's home is node {home}");

        // The room's node dies without a word.
        var before = new[] { await Scenario.InboundAsync(therapist), await Scenario.InboundAsync(patient) };
        foreach (var page in new[] { therapist, patient })
        {
            // The connection to the dead node keeps its last counts; only a new one can show the call is back.
            await page.EvaluateAsync("() => { window.__teletherapy.subscribe.__beforeKill = true; }");
        }

        var clock = Stopwatch.StartNew();
        cluster.Nodes[home].Kill();
        var survivor = cluster.Nodes[1 - home];
        var recovered = await Task.WhenAll(DecodingAgainAsync(therapist, clock), DecodingAgainAsync(patient, clock));
        output.WriteLine($"decoding again {recovered[0].TotalSeconds:0.0} s (therapist) and {recovered[1].TotalSeconds:0.0} s (patient) after the kill; frames before: {before[0].FramesDecoded}, {before[1].FramesDecoded}");
        Assert.All(recovered, r => Assert.True(r <= RecoveryBound, $"decoding again took {r.TotalSeconds:0.0} s"));

        // Through the surviving node, still admitted: nobody knocked again.
        Assert.Equal(1 - home, await cluster.HomeAsync());
        await Assertions.Expect(patient.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
        await Assertions.Expect(therapist.Locator(".waiting-panel")).ToContainTextAsync("Nobody is waiting.");
        using var audit = new HttpRequestMessage(HttpMethod.Get, $"api/v1/appointments/{demo.AppointmentId}/audit");
        audit.Headers.Add("X-Api-Key", Scenario.ApiKey);
        var response = await survivor.Http.SendAsync(audit);
        var events = (await response.Content.ReadFromJsonAsync<JsonArray>())!;
        var kinds = events.Select(e => e!["kind"]!.GetValue<string>()).ToList();
        output.WriteLine("audit: " + string.Join(", ", kinds));
        Assert.Single(kinds, k => k == "knocked");
        Assert.Single(kinds, k => k == "admitted");
        Assert.Contains("dropped", kinds);
        Assert.Contains("rejoined", kinds);
    }

    /// <summary>The node the proxy keeps this computer on (its sticky cookie).</summary>
    private static async Task<int> NodeOfAsync(Browser computer)
    {
        var cookie = (await computer.Context.CookiesAsync()).Single(c => c.Name == "teletherapy_node");
        return int.Parse(cookie.Value["node".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// How long after <paramref name="clock"/> started the page has a new subscribe connection, connected, that decodes
    /// video and receives audio that keep coming (two readings a second apart).
    /// </summary>
    private static async Task<TimeSpan> DecodingAgainAsync(IPage page, Stopwatch clock)
    {
        var deadline = RecoveryBound + TimeSpan.FromSeconds(30);
        Inbound? last = null;
        while (clock.Elapsed < deadline)
        {
            var connected = await Scenario.ConnectionStateAsync(page, "subscribe") == "connected"
                && await page.EvaluateAsync<bool>("() => !window.__teletherapy.subscribe.__beforeKill");
            var now = await Scenario.InboundAsync(page);
            if (connected && last is not null && now.FramesDecoded > last.FramesDecoded && now.AudioPackets > last.AudioPackets)
            {
                return clock.Elapsed - TimeSpan.FromSeconds(1);
            }

            last = connected ? now : null;
            await Task.Delay(1000);
        }

        throw new Xunit.Sdk.XunitException($"The page did not decode again within {deadline.TotalSeconds} s of the kill.");
    }
}
