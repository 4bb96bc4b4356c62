using System.Net;
using System.Net.Http.Json;
using Teletherapy.Signaling.Tests.Hosting;

namespace Teletherapy.EndToEnd;

/// <summary>Abuse of the anonymous doors while a session runs: the session keeps its media.</summary>
public sealed class FloodTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact(Timeout = 180_000)]
    public async Task Two_hundred_sign_ins_a_second_from_many_addresses_cost_a_running_session_no_media()
    {
        using var server = new LiveServer(Scenario.DemoSettings());
        var demo = DemoInfo.Read(server.DataPath);
        await using var browser = await Browser.LaunchAsync();
        var therapist = await browser.NewPageAsync();
        var patient = await browser.NewPageAsync();
        await Scenario.AdmitDemoPatientAsync(therapist, patient, server, demo);
        await Scenario.WaitForMediaAsync(patient);
        await Scenario.WaitForMediaAsync(therapist);
        var before = (Patient: await LossAsync(patient), Therapist: await LossAsync(therapist));

        // 200 clients on 200 loopback addresses, each trying a wrong password once a second for 10 s.
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        var clients = Enumerable.Range(2, 200).Select(i => LoopbackClient.From($"127.0.1.{i}", new Uri(server.BaseUrl))).ToList();
        var flood = clients.Select(async (client, i) =>
        {
            for (var second = 0; second < 10; second++)
            {
                var started = DateTime.UtcNow;
                try
                {
                    using var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = $"guess{i}.{second}@clinic.example", password = "not the password" });
                    statuses.Add(response.StatusCode);
                }
                catch (HttpRequestException)
                {
                    statuses.Add(HttpStatusCode.ServiceUnavailable);
                }

                var rest = TimeSpan.FromSeconds(1) - (DateTime.UtcNow - started);
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest);
                }
            }
        });
        await Task.WhenAll(flood);
        clients.ForEach(c => c.Dispose());

        var after = (Patient: await LossAsync(patient), Therapist: await LossAsync(therapist));
        foreach (var (name, from, to) in new[] { ("patient", before.Patient, after.Patient), ("therapist", before.Therapist, after.Therapist) })
        {
            var received = to.Received - from.Received;
            var lost = to.Lost - from.Lost;
            output.WriteLine($"{name}: {received} packets received, {lost} lost during the flood");
            Assert.True(received > 500, $"The {name} received only {received} packets during the flood.");
            Assert.True(lost <= 0.001 * (received + lost), $"The {name} lost {lost} of {received + lost} packets during the flood.");
        }

        // Every attempt was answered: wrong passwords (401) as far as one hash at a time allows, the rest refused at once (429).
        output.WriteLine(string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{(int)g.Key}: {g.Count()}")));
        Assert.Equal(2000, statuses.Count);
        Assert.DoesNotContain(HttpStatusCode.ServiceUnavailable, statuses);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, s.ToString()));
        await Scenario.WaitForMediaAsync(patient);
    }

    private static async Task<(long Received, long Lost)> LossAsync(Microsoft.Playwright.IPage page)
    {
        var values = await page.EvaluateAsync<double[]>(
            """
            async () => {
              const pc = window.__teletherapy && window.__teletherapy.subscribe;
              if (!pc) return [0, 0];
              const stats = await pc.getStats();
              let received = 0, lost = 0;
              stats.forEach((r) => { if (r.type === 'inbound-rtp') { received += r.packetsReceived || 0; lost += r.packetsLost || 0; } });
              return [received, lost];
            }
            """);
        return ((long)values[0], (long)values[1]);
    }
}
