using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Signaling.Auth;
using Teletherapy.Signaling.Tests.Sessions;

namespace Teletherapy.Signaling.Tests.Authorization;

/// <summary>
/// An account deactivated where this node's API did not see it (another node of a cluster, the database directly)
/// loses its session connections here at the next sweep; active accounts keep theirs.
/// </summary>
public sealed class StaffConnectionSweepTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    [Fact]
    public async Task A_deactivated_accounts_connections_close_at_the_next_sweep_and_no_one_elses()
    {
        var s = await ScenarioAsync();
        var olga = await Server.ConnectAsync(await Clinic.CookiesAsync(Clinic.Olga));
        var ada = await s.JoinTherapistAsync(s.Ada);
        var closed = new TaskCompletionSource();
        olga.Connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };

        // Behind the API's back, as another node's admin or the database itself would do it.
        var accounts = Server.Services.GetRequiredService<StaffAccounts>();
        Assert.True((await accounts.UpdateAsync(Clinic.Olga.Id, new UpdateStaffRequest(Active: false))).IsOk);
        await Task.Delay(200);
        Assert.Equal(HubConnectionState.Connected, olga.Connection.State);

        Server.Time.Advance(StaffConnectionSweep.Interval);
        await closed.Task.WaitAsync(HubServer.Timeout);
        Assert.Equal(HubConnectionState.Connected, ada.Connection.State);
        Assert.Equal(0, await Server.Services.GetRequiredService<StaffConnectionSweep>().SweepAsync(CancellationToken.None));
    }
}
