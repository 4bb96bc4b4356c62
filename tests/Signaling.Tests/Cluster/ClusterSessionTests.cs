using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.Signaling.Auth;
using Teletherapy.Signaling.Sessions;
using Teletherapy.Signaling.Tests.Sessions;

namespace Teletherapy.Signaling.Tests.Cluster;

/// <summary>
/// A session across two nodes: each room has exactly one home, hub connections on either node reach it, its events
/// reach them, and everyone's media goes to the home's relay.
/// </summary>
public sealed class ClusterSessionTests
{
    [Fact(Timeout = 120_000)]
    public async Task People_connected_to_different_nodes_meet_in_the_room_on_its_home_and_send_media_there()
    {
        await using var cluster = await ClusterNodes.StartAsync();
        var therapist = await cluster.TherapistOnAsync(0);
        var home = cluster.HomeIndex();
        Assert.Equal(cluster[home].Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress, await cluster.Room(1).Home());

        // The patient's hub is on the other node; the knock reaches the therapist wherever they are connected.
        var mark = therapist.Mark;
        var (patient, joined) = await cluster.PatientOnAsync(1);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, joined.State);
        var knock = await therapist.WaitAsync<WaitingParticipant>(HubClient.Knock, after: mark);
        Assert.Equal("Mia Keller", knock.Name);
        Assert.Equal(home, cluster.HomeIndex());

        var patientMark = patient.Mark;
        Assert.True(await therapist.AdmitAsync(knock.ParticipantId));
        var admitted = await patient.WaitForStateAsync(ParticipantStates.Admitted, after: patientMark);
        Assert.Equal("Dr. Ada Weber", admitted.ByName);

        // Both publish: both answers name the home's media port, whichever node their hub is on.
        var homePort = cluster.UdpPort(home);
        var otherPort = cluster.UdpPort(1 - home);
        Assert.NotEqual(homePort, otherPort);
        foreach (var client in new[] { therapist, patient })
        {
            var answer = await client.PublishAsync(Sdp.ChromeOffer);
            Assert.Contains($" {homePort} typ host", answer, StringComparison.Ordinal);
            Assert.DoesNotContain($" {otherPort} typ host", answer, StringComparison.Ordinal);
        }

        // Leaving from the remote node reaches the room: the therapist sees the patient go.
        mark = therapist.Mark;
        await patient.LeaveAsync();
        var left = await therapist.WaitAsync<PeerInfo>(HubClient.PeerLeft, after: mark);
        Assert.Equal(knock.ParticipantId, left.ParticipantId);
    }

    [Fact(Timeout = 180_000)]
    public async Task When_the_rooms_node_stops_the_room_comes_back_on_the_other_and_the_admitted_patient_is_not_sent_to_the_waiting_room()
    {
        await using var cluster = await ClusterNodes.StartAsync();
        var therapist = await cluster.TherapistOnAsync(0);
        var (patient, joined) = await cluster.PatientOnAsync(1);
        var patientMark = patient.Mark;
        Assert.True(await therapist.AdmitAsync(joined.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted, after: patientMark);

        // The room's node stops. Whoever was connected to it is cut off with it; whoever was connected to the other
        // node is let go by that node once the cluster has seen the first one go, so both clients reconnect.
        var home = cluster.HomeIndex();
        var survivor = 1 - home;
        var (onSurvivor, _) = home == 0 ? (patient, therapist) : (therapist, patient);
        var closed = new TaskCompletionSource();
        onSurvivor.Connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        await cluster.StopAsync(home);
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // Both rejoin through the surviving node: the room is there now, and the patient's device is still admitted.
        var therapistAgain = await cluster.TherapistOnAsync(survivor);
        var (patientAgain, rejoined) = await cluster.PatientOnAsync(survivor, joined.DeviceKey);
        Assert.Equal(ParticipantStates.Admitted, rejoined.State);
        Assert.Equal(joined.ParticipantId, rejoined.ParticipantId);
        Assert.NotNull(cluster[survivor].Services.GetRequiredService<SessionCoordinator>().FindRoom(cluster.AppointmentId));
        var answer = await patientAgain.PublishAsync(Sdp.ChromeOffer);
        Assert.Contains($" {cluster.UdpPort(survivor)} typ host", answer, StringComparison.Ordinal);
        var audit = (await cluster[survivor].AuditAsync(cluster.AppointmentId)).Select(e => e!["kind"]!.GetValue<string>()).ToList();
        Assert.Single(audit, k => k == "knocked");
        Assert.Single(audit, k => k == "admitted");
        _ = therapistAgain;
    }

    [Fact(Timeout = 120_000)]
    public async Task An_account_deactivated_through_one_node_loses_its_session_connection_on_the_other()
    {
        await using var cluster = await ClusterNodes.StartAsync();
        var therapist = await cluster.TherapistOnAsync(1);
        var closed = new TaskCompletionSource();
        therapist.Connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };

        var deactivated = await cluster[0].Integrator.PutAsJsonAsync($"api/v1/staff/{cluster.Ada.Id}", new { active = false });
        Assert.Equal(HttpStatusCode.OK, deactivated.StatusCode);
        // Node 0's API closes what node 0 holds at once; node 1 finds out at its next sweep.
        await closed.Task.WaitAsync(StaffConnectionSweep.Interval * 3);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_draining_node_takes_no_new_rooms_hands_its_idle_ones_over_and_tells_the_proxy()
    {
        await using var cluster = await ClusterNodes.StartAsync();
        using (var therapistHttp = cluster[0].NewClient(await cluster[0].SignInAsync(cluster.Ada.Email, SessionScenario.Password)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await therapistHttp.PostAsync("api/v1/admin/drain", null)).StatusCode);
        }

        // Rooms that were used and are empty now, wherever placement put them.
        var before = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            var id = await cluster.NewAppointmentAsync();
            var visitor = await cluster.TherapistOnAsync(0, id);
            await visitor.LeaveAsync();
            before.Add(id);
        }

        var onFirst = before.Count(id => cluster.HomeIndex(id) == 0);
        var drain = await cluster[0].Integrator.PostAsync("api/v1/admin/drain", null);
        Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        var body = (await drain.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(body["draining"]!.GetValue<bool>());
        Assert.Equal(onFirst, body["idleRoomsHandedOver"]!.GetValue<int>());

        using (var anonymous = cluster[0].NewClient(null))
        {
            var health = await anonymous.GetAsync("healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("draining", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The idle rooms leave the draining node.
        var coordinator = cluster[0].Services.GetRequiredService<SessionCoordinator>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (coordinator.RoomIds().Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Empty(coordinator.RoomIds());

        // New rooms, joined through the draining node, all live on the other one.
        for (var i = 0; i < 6; i++)
        {
            var id = await cluster.NewAppointmentAsync();
            await cluster.TherapistOnAsync(0, id);
            Assert.Equal(1, cluster.HomeIndex(id));
        }

        // And a room handed over comes back on the open node when it is used again.
        await cluster.TherapistOnAsync(0, before[0]);
        Assert.Equal(1, cluster.HomeIndex(before[0]));
    }
}
