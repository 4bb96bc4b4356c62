using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// Things that happen to one session at once, through the hub: a connection closing while its join is on the way, a
/// tab that joins another session, a leave racing End session. Whatever the order, a connection is in one room at
/// most, a room is let go with everything of it, and nobody is left in a room they cannot act in.
/// </summary>
public sealed class SessionRaceTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    private const int Bound = 20_000;

    private SessionCoordinator Coordinator => Server.Services.GetRequiredService<SessionCoordinator>();

    [Fact(Timeout = Bound)]
    public async Task A_connection_that_closes_while_its_join_is_on_the_way_is_not_left_connected_in_the_room()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var patient = await Server.ConnectAsync();
        var connectionId = patient.Connection.ConnectionId!;
        // The link passes the rules; before the join reaches the room, the hub learns that its connection closed.
        Coordinator.AfterJoinRulesCheckedForTests = async appointmentId =>
        {
            if (appointmentId == s.AppointmentId && Coordinator.AfterJoinRulesCheckedForTests is not null)
            {
                Coordinator.AfterJoinRulesCheckedForTests = null;
                await Coordinator.DisconnectedAsync(connectionId);
            }
        };
        try
        {
            Assert.False((await patient.JoinWithTokenAsync(s.PatientToken)).Accepted);
        }
        finally
        {
            Coordinator.AfterJoinRulesCheckedForTests = null;
        }

        // The room knows nothing of that connection: the patient's place shows them gone, and the tab cannot act.
        var room = Coordinator.FindRoom(s.AppointmentId)!;
        Assert.All(room.Participants().Where(p => !p.IsTherapist), p => Assert.Empty(p.Connections));
        Assert.Null(room.FindByConnection(connectionId));
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        await ada.WaitForSnapshotAsync(w => w.Waiting.All(x => !x.Connected));
        Assert.Equal(0, await Coordinator.WaitingCountAsync(s.AppointmentId));
    }

    [Fact(Timeout = Bound)]
    public async Task A_tab_that_joins_another_session_leaves_the_one_it_was_in()
    {
        var first = await ScenarioAsync();
        var second = await ScenarioAsync();
        var ada = await first.JoinTherapistAsync(first.Ada);
        var ben = await first.JoinTherapistAsync(first.Ben);
        var benMark = ben.Mark;

        Assert.True((await ada.JoinAsTherapistAsync(second.AppointmentId)).Accepted);

        var left = await ben.WaitAsync<PeerInfo>(HubClient.PeerLeft, p => p.ParticipantId == first.Ada.ParticipantId, benMark);
        Assert.False(left.Connected);
        Assert.Empty(Coordinator.FindRoom(first.AppointmentId)!.Find(first.Ada.ParticipantId)!.Connections);
        Assert.Contains("left", await first.AuditKindsAsync());
        Assert.Equal(ParticipantStates.Admitted, Coordinator.FindRoom(second.AppointmentId)!.Find(second.Ada.ParticipantId)?.State);
        Assert.False(await ada.AdmitAllAsync()); // acts in the second session (nobody waits there), not in the first
        await ben.WaitForSnapshotAsync(w => w.InSession.All(p => p.ParticipantId != first.Ada.ParticipantId), benMark);
    }

    [Fact(Timeout = Bound)]
    public async Task Leaving_while_the_session_is_ended_leaves_no_room_router_or_connection_behind()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        await patient.PublishAsync(Sdp.ChromeOffer);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));

        var leave = patient.LeaveAsync();
        var end = ada.EndSessionAsync();
        try
        {
            await leave;
        }
        catch (HubException)
        {
            // the session ended first: there was nothing left to leave
        }

        Assert.True(await end);
        Assert.Null(Coordinator.FindRoom(s.AppointmentId));
        Assert.Null(Server.Services.GetRequiredService<MediaRelayService>().FindRouter(s.AppointmentId.ToString("N")));
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        await Assert.ThrowsAsync<HubException>(() => ada.AdmitAllAsync());
        Assert.Equal(ParticipantStates.SessionEnded, (await ada.WaitForStateAsync(ParticipantStates.SessionEnded)).State);
    }
}
