using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>A relay with room for two participants per session: the third is refused <c>session-full</c> and leaves no trace.</summary>
public sealed class SessionFullTests : IAsyncLifetime
{
    private readonly ClinicFixture _clinic = new();

    public Task InitializeAsync()
    {
        _clinic.Server.Settings["Media:MaxPeersPerRouter"] = "2";
        return _clinic.InitializeAsync();
    }

    public Task DisposeAsync() => _clinic.DisposeAsync();

    [Fact(Timeout = 20_000)]
    public async Task A_join_beyond_the_sessions_limit_is_refused_and_gets_in_once_a_place_is_free()
    {
        var s = await SessionScenario.CreateAsync(_clinic, null);
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        var caregiver = await _clinic.Server.ConnectAsync();

        var refused = await caregiver.JoinWithTokenAsync(s.CaregiverToken);

        Assert.False(refused.Accepted);
        Assert.Equal(SessionCoordinator.SessionFull, refused.Reason);
        var mark = ada.Mark;
        await patient.ReportConnectionCheckAsync(new ConnectionCheckSummary("good", true, true, 20, 0, 900));
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 1 && w.Waiting[0].ConnectionCheck is not null, mark);
        Assert.Equal(p.ParticipantId, snapshot.Waiting[0].ParticipantId);

        await patient.LeaveAsync();
        var admittedLater = await caregiver.JoinWithTokenAsync(s.CaregiverToken);
        Assert.True(admittedLater.Accepted, admittedLater.Reason);
    }
}
