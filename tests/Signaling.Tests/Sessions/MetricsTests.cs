using System.Globalization;
using System.Text.RegularExpressions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>The session gauges are process-wide, so this test runs alone (after the parallel ones).</summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;

[Collection(nameof(MetricsCollection))]
public sealed class MetricsTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    [Fact(Timeout = 20_000)]
    public async Task Metrics_count_active_sessions_and_waiting_participants()
    {
        var s = await ScenarioAsync();
        await AssertGaugesAsync(active: 0, waiting: 0);

        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        await AssertGaugesAsync(active: 1, waiting: 1);
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (caregiver, c) = await s.JoinContactAsync(s.CaregiverToken);
        await AssertGaugesAsync(active: 1, waiting: 2);

        // The wait before Admit is observed on the server's clock: 90 s here.
        var waits = Gauge(await Server.MetricsAsync(), "teletherapy_waiting_room_wait_seconds_count");
        var waited = Gauge(await Server.MetricsAsync(), "teletherapy_waiting_room_wait_seconds_sum");
        Server.Time.Advance(TimeSpan.FromSeconds(90));
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        await AssertGaugesAsync(active: 1, waiting: 1);
        Assert.Equal(waits + 1, Gauge(await Server.MetricsAsync(), "teletherapy_waiting_room_wait_seconds_count"));
        Assert.Equal(waited + 90, Gauge(await Server.MetricsAsync(), "teletherapy_waiting_room_wait_seconds_sum"), 3);
        Assert.True(await ada.SendToWaitingRoomAsync(p.ParticipantId!));
        await AssertGaugesAsync(active: 1, waiting: 2);
        Assert.True(await ada.DenyAsync(c.ParticipantId!));
        await AssertGaugesAsync(active: 1, waiting: 1);

        Assert.True(await ada.EndSessionAsync());
        await caregiver.WaitAsync<string>(HubClient.SessionEnded);
        await patient.WaitAsync<string>(HubClient.SessionEnded);
        await AssertGaugesAsync(active: 0, waiting: 0);
    }

    private async Task AssertGaugesAsync(int active, int waiting)
    {
        var text = await Server.MetricsAsync();
        Assert.Equal(active, Gauge(text, "teletherapy_sessions_active"));
        Assert.Equal(waiting, Gauge(text, "teletherapy_waiting_room_participants"));
    }

    private static double Gauge(string metrics, string name)
    {
        var match = Regex.Match(metrics, "^" + name + " ([0-9.eE+-]+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"{name} is not in /metrics.");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
