using System.Net;
using Microsoft.AspNetCore.SignalR;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// The waiting room belongs to the participant, not the connection: refreshes, second tabs, drops and returns; a
/// therapist who drops; leaving; ending the session; and the face-to-face minutes the audit log yields.
/// </summary>
public sealed class PresenceTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    private const int Bound = 20_000;

    [Fact(Timeout = Bound)]
    public async Task A_refresh_or_another_tab_of_the_same_device_keeps_the_place_without_a_second_knock()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var arrivedAt = Server.Time.GetUtcNow();
        var (first, joined) = await s.JoinContactAsync(s.PatientToken);
        await ada.WaitAsync<WaitingParticipant>(HubClient.Knock);

        Server.Time.Advance(TimeSpan.FromSeconds(30));
        var mark = ada.Mark;
        var (second, again) = await s.JoinContactAsync(s.PatientToken, joined.DeviceKey);
        Assert.Equal(joined.ParticipantId, again.ParticipantId);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, again.State);
        var snapshot = await ada.WaitForSnapshotAsync(_ => true, mark);
        Assert.Equal(arrivedAt, Assert.Single(snapshot.Waiting).WaitingSince);
        Assert.Empty(ada.All<WaitingParticipant>(HubClient.Knock, mark)); // a knock would have come before the snapshot

        // The first tab closes: the second is still in the room and the place is kept.
        await first.DropAsync();
        mark = ada.Mark;
        await second.ReportConnectionCheckAsync(new ConnectionCheckSummary("good", true, true, 20, 0, 900));
        var checkedIn = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 1 && w.Waiting[0].ConnectionCheck is not null, mark);
        Assert.True(checkedIn.Waiting[0].Connected);

        // The network drops altogether: the place is kept (shown as not connected) and a return does not knock.
        mark = ada.Mark;
        await second.DropAsync();
        var dropped = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 1 && !w.Waiting[0].Connected, mark);
        Assert.Equal(arrivedAt, dropped.Waiting[0].WaitingSince);
        mark = ada.Mark;
        var (third, back) = await s.JoinContactAsync(s.PatientToken, joined.DeviceKey);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, back.State);
        var returned = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 1 && w.Waiting[0].Connected, mark);
        Assert.Equal(arrivedAt, returned.Waiting[0].WaitingSince);
        Assert.Empty(ada.All<WaitingParticipant>(HubClient.Knock, mark));
        Assert.Equal(1, (await s.AuditKindsAsync()).Count(k => k == "knocked"));

        // Admit reaches the live tab.
        Assert.True(await ada.AdmitAsync(joined.ParticipantId!));
        await third.WaitForStateAsync(ParticipantStates.Admitted);
    }

    [Fact(Timeout = Bound)]
    public async Task A_waiting_participant_who_dropped_leaves_the_queue_after_the_grace_period()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, _) = await s.JoinContactAsync(s.PatientToken);
        await patient.DropAsync();
        await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 1 && !w.Waiting[0].Connected);

        var mark = ada.Mark;
        Server.Time.Advance(SessionCoordinator.WaitingGrace + TimeSpan.FromSeconds(5));
        await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0, mark);
        Assert.Equal("left", (await s.AuditKindsAsync())[^1]);

        // Coming back later is a new knock.
        mark = ada.Mark;
        await s.JoinContactAsync(s.PatientToken);
        await ada.WaitAsync<WaitingParticipant>(HubClient.Knock, after: mark);
    }

    [Fact(Timeout = Bound)]
    public async Task The_link_on_another_device_knocks_as_a_second_device_and_the_first_stays_in()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, joined) = await s.JoinContactAsync(s.PatientToken);
        Assert.True(await ada.AdmitAsync(joined.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);

        var mark = ada.Mark;
        var patientMark = patient.Mark;
        var (other, second) = await s.JoinContactAsync(s.PatientToken);

        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, second.State);
        Assert.NotEqual(joined.ParticipantId, second.ParticipantId);
        var knock = await ada.WaitAsync<WaitingParticipant>(HubClient.Knock, w => w.ParticipantId == second.ParticipantId, mark);
        Assert.True(knock.SecondDevice);
        Assert.EndsWith("(second device)", knock.Name, StringComparison.Ordinal);
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 1, mark);
        Assert.Contains(snapshot.InSession, p => p.ParticipantId == joined.ParticipantId && p.Connected);

        // The second device leaves: only it; the patient was never disturbed.
        mark = ada.Mark;
        await other.LeaveAsync();
        await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0 && w.InSession.Any(p => p.ParticipantId == joined.ParticipantId && p.Connected), mark);
        Assert.Empty(patient.All<ParticipantStateNotice>(HubClient.StateChanged, patientMark));
        Assert.Empty(patient.All<PeerInfo>(HubClient.PeerLeft, patientMark));
    }

    [Fact(Timeout = Bound)]
    public async Task An_admitted_participants_link_on_another_device_after_a_drop_must_knock()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, joined) = await s.JoinContactAsync(s.PatientToken);
        Assert.True(await ada.AdmitAsync(joined.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);
        await patient.DropAsync();

        var mark = ada.Mark;
        var (_, other) = await s.JoinContactAsync(s.PatientToken, "a key this device never got");

        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, other.State);
        var knock = await ada.WaitAsync<WaitingParticipant>(HubClient.Knock, w => w.ParticipantId == joined.ParticipantId, mark);
        Assert.False(knock.SecondDevice);
    }

    [Fact(Timeout = Bound)]
    public async Task Leave_in_one_tab_of_a_device_keeps_the_other_tab_in_the_session()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (first, joined) = await s.JoinContactAsync(s.PatientToken);
        Assert.True(await ada.AdmitAsync(joined.ParticipantId!));
        await first.WaitForStateAsync(ParticipantStates.Admitted);
        var (second, again) = await s.JoinContactAsync(s.PatientToken, joined.DeviceKey);
        Assert.Equal(ParticipantStates.Admitted, again.State);

        var mark = ada.Mark;
        await first.LeaveAsync();
        await second.ReportConnectionCheckAsync(new ConnectionCheckSummary("good", true, true, 20, 0, 900));

        Assert.Empty(ada.All<PeerInfo>(HubClient.PeerLeft, mark));
        Assert.DoesNotContain("left", await s.AuditKindsAsync());
        Assert.Equal("admitted", (await second.CallAsync<JoinResult>("JoinWithTokenOnDevice", s.PatientToken, joined.DeviceKey!)).State);
    }

    [Fact(Timeout = Bound)]
    public async Task An_admitted_participant_who_drops_comes_back_admitted_without_knocking()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, joined) = await s.JoinContactAsync(s.PatientToken);
        Assert.True(await ada.AdmitAsync(joined.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);

        var mark = ada.Mark;
        await patient.DropAsync();
        var left = await ada.WaitAsync<PeerInfo>(HubClient.PeerLeft, p => p.ParticipantId == joined.ParticipantId, mark);
        Assert.False(left.Connected);

        mark = ada.Mark;
        var (_, result) = await s.JoinContactAsync(s.PatientToken, joined.DeviceKey);
        Assert.Equal(ParticipantStates.Admitted, result.State);
        Assert.Equal([s.Ada.ParticipantId], result.Peers!.Select(p => p.ParticipantId));
        var rejoined = await ada.WaitAsync<PeerInfo>(HubClient.PeerJoined, p => p.ParticipantId == joined.ParticipantId, mark);
        Assert.True(rejoined.Connected);
        await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0 && w.InSession.All(p => p.Connected), mark);
        Assert.Empty(ada.All<WaitingParticipant>(HubClient.Knock, mark));
        Assert.Equal(["joined", "knocked", "admitted", "dropped", "rejoined"], await s.AuditKindsAsync());
        var audit = await Server.AuditAsync(s.AppointmentId);
        Assert.Equal(s.PatientContactId, audit[^1]!["actorId"]!.GetValue<Guid>());
    }

    [Fact(Timeout = Bound)]
    public async Task A_therapist_who_drops_does_not_end_the_session_and_waiting_people_learn_nobody_is_there()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);
        var (caregiver, c) = await s.JoinContactAsync(s.CaregiverToken);
        var ben = await s.JoinTherapistAsync(s.Ben);

        // One of two therapists drops: the waiting room does not change its words.
        var caregiverMark = caregiver.Mark;
        var patientMark = patient.Mark;
        await ben.DropAsync();
        await patient.WaitAsync<PeerInfo>(HubClient.PeerLeft, x => x.ParticipantId == s.Ben.ParticipantId, patientMark);
        await ada.WaitForSnapshotAsync(w => w.InSession.Any(x => x.ParticipantId == s.Ben.ParticipantId && !x.Connected));

        // The last therapist drops: the patient stays admitted, the caregiver is told the therapist is gone.
        patientMark = patient.Mark;
        await ada.DropAsync();
        await caregiver.WaitForStateAsync(ParticipantStates.WaitingForTherapist, caregiverMark);
        Assert.Single(caregiver.All<ParticipantStateNotice>(HubClient.StateChanged, caregiverMark)); // not after Ben's drop
        await patient.WaitAsync<PeerInfo>(HubClient.PeerLeft, x => x.ParticipantId == s.Ada.ParticipantId, patientMark);
        Assert.Empty(patient.All<ParticipantStateNotice>(HubClient.StateChanged, patientMark));

        // A refresh of the patient while no therapist is there: still admitted, the session goes on.
        var (tab, again) = await s.JoinContactAsync(s.PatientToken, p.DeviceKey);
        Assert.Equal(ParticipantStates.Admitted, again.State);
        Assert.Equal(ParticipantStates.WaitingForTherapist, (await s.JoinContactAsync(s.CaregiverToken, c.DeviceKey)).Result.State);

        // Ada comes back: rejoined, and the caregiver may be admitted again.
        caregiverMark = caregiver.Mark;
        var back = await s.ConnectStaffAsync(s.Ada);
        var result = await back.JoinAsTherapistAsync(s.AppointmentId);
        Assert.True(result.Accepted);
        await caregiver.WaitForStateAsync(ParticipantStates.WaitingToBeAdmitted, caregiverMark);
        await tab.WaitAsync<PeerInfo>(HubClient.PeerJoined, x => x.ParticipantId == s.Ada.ParticipantId);
        var kinds = (await Server.AuditAsync(s.AppointmentId)).Where(e => e!["actorKind"]!.GetValue<string>() == "staff").Select(e => e!["kind"]!.GetValue<string>());
        Assert.Equal(["joined", "admitted", "joined", "dropped", "dropped", "rejoined"], kinds);
    }

    [Fact(Timeout = Bound)]
    public async Task Leave_takes_the_participant_out_and_the_last_therapist_leaving_tells_the_waiting_room()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        var (caregiver, _) = await s.JoinContactAsync(s.CaregiverToken);

        var mark = ada.Mark;
        await patient.LeaveAsync();
        await ada.WaitAsync<PeerInfo>(HubClient.PeerLeft, x => x.ParticipantId == p.ParticipantId, mark);
        await ada.WaitForSnapshotAsync(w => w.InSession.Count == 1 && w.Waiting.Count == 1, mark);
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer)); // that connection is out

        // The waiting caregiver leaves the queue.
        mark = ada.Mark;
        await caregiver.LeaveAsync();
        await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0, mark);

        // Someone waits again; the therapist leaves: waiting people are told.
        var (again, _) = await s.JoinContactAsync(s.CaregiverToken);
        var againMark = again.Mark;
        await ada.LeaveAsync();
        await again.WaitForStateAsync(ParticipantStates.WaitingForTherapist, againMark);
        Assert.Equal(3, (await s.AuditKindsAsync()).Count(k => k == "left"));
    }

    [Fact(Timeout = Bound)]
    public async Task End_session_ends_it_for_everyone_and_every_later_join_is_ended()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var ben = await s.JoinTherapistAsync(s.Ben);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        var (caregiver, _) = await s.JoinContactAsync(s.CaregiverToken);

        Assert.True(await ada.EndSessionAsync());
        foreach (var client in new[] { ada, ben, patient, caregiver })
        {
            Assert.Equal("ended", await client.WaitAsync<string>(HubClient.SessionEnded));
            Assert.Equal(s.Ada.Name, (await client.WaitForStateAsync(ParticipantStates.SessionEnded)).ByName);
        }

        // Nothing works on the old connections any more, and every new join is refused with ended.
        await Assert.ThrowsAsync<HubException>(() => ben.AdmitAllAsync());
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        JoinRefusalTests.AssertRefused(await ada.JoinAsTherapistAsync(s.AppointmentId), "ended");
        var fresh = await Server.ConnectAsync();
        JoinRefusalTests.AssertRefused(await fresh.JoinWithTokenAsync(s.PatientToken), "ended");
        JoinRefusalTests.AssertRefused(await fresh.JoinWithTokenAsync(s.CaregiverToken), "ended");
        using var calendar = Server.NewClient(await s.SignInAsync(s.Ben));
        Assert.Equal(HttpStatusCode.Conflict, (await calendar.PostAsync($"api/v1/appointments/{s.AppointmentId}/join", null)).StatusCode);

        var kinds = await s.AuditKindsAsync();
        Assert.Single(kinds, k => k == "ended");
        Assert.Equal(["ended", "ended", "ended", "ended"], await s.RefusalsInAuditAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Face_to_face_minutes_count_admitted_time_with_a_therapist_and_not_waiting_time()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        Server.Time.Advance(TimeSpan.FromMinutes(4)); // waiting
        Assert.Equal(0, (await Server.MinutesAsync(s.AppointmentId))["seconds"]!.GetValue<long>());

        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        Server.Time.Advance(TimeSpan.FromMinutes(3)); // together
        Assert.Equal(180, (await Server.MinutesAsync(s.AppointmentId))["seconds"]!.GetValue<long>());
        Assert.Equal(3, (await Server.MinutesAsync(s.AppointmentId))["minutes"]!.GetValue<double>());

        Assert.True(await ada.SendToWaitingRoomAsync(p.ParticipantId!));
        Server.Time.Advance(TimeSpan.FromMinutes(2)); // waiting again
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        Server.Time.Advance(TimeSpan.FromMinutes(1)); // together
        Assert.True(await ada.EndSessionAsync());
        await patient.WaitAsync<string>(HubClient.SessionEnded);
        Server.Time.Advance(TimeSpan.FromMinutes(5)); // over
        Assert.Equal(240, (await Server.MinutesAsync(s.AppointmentId))["seconds"]!.GetValue<long>());
    }
}
