using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.MediaRelay;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>Every waiting-room transition (README: The join rules), seen by the therapists, the participant and the audit log.</summary>
public sealed class WaitingRoomTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    private const int Bound = 20_000;

    [Fact(Timeout = Bound)]
    public async Task Patient_before_any_therapist_waits_for_the_therapist_and_is_told_when_one_arrives()
    {
        var s = await ScenarioAsync();
        var arrivedAt = Server.Time.GetUtcNow();
        var (patient, joined) = await s.JoinContactAsync(s.PatientToken);

        Assert.Equal(ParticipantStates.WaitingForTherapist, joined.State);
        Assert.Equal(SessionScenario.ParticipantIdOf(s.PatientContactId), joined.ParticipantId);
        Assert.Equal("Mia Keller", joined.Name);
        Assert.Equal(ParticipantRoles.Patient, joined.Role);
        Assert.Equal(s.AppointmentId, joined.AppointmentId);
        Assert.Null(joined.WaitingRoom); // the queue is for therapists only
        Assert.Empty(joined.Peers!);

        Server.Time.Advance(TimeSpan.FromMinutes(2));
        var mark = patient.Mark;
        var ada = await s.ConnectStaffAsync(s.Ada);
        var therapist = await ada.JoinAsTherapistAsync(s.AppointmentId);

        await patient.WaitForStateAsync(ParticipantStates.WaitingToBeAdmitted, mark);
        var waiting = Assert.Single(therapist.WaitingRoom!.Waiting);
        Assert.Equal(joined.ParticipantId, waiting.ParticipantId);
        Assert.Equal("Mia Keller", waiting.Name);
        Assert.Equal(ParticipantRoles.Patient, waiting.Role);
        Assert.Equal(arrivedAt, waiting.WaitingSince);
        Assert.True(waiting.Connected);
        var self = Assert.Single(therapist.WaitingRoom.InSession);
        Assert.Equal(s.Ada.ParticipantId, self.ParticipantId);
        Assert.Equal(["knocked", "joined"], await s.AuditKindsAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Patient_arriving_after_the_therapist_knocks_and_the_connection_check_shows_in_the_queue()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var mark = ada.Mark;

        var (patient, joined) = await s.JoinContactAsync(s.PatientToken);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, joined.State);
        Assert.Equal([s.Ada.Name], joined.Peers!.Select(p => p.Name));

        var knock = await ada.WaitAsync<WaitingParticipant>(HubClient.Knock, after: mark);
        Assert.Equal(joined.ParticipantId, knock.ParticipantId);
        Assert.Equal("Mia Keller", knock.Name);
        Assert.Equal(ParticipantRoles.Patient, knock.Role);
        await ada.WaitForSnapshotAsync(w => w.Waiting.Any(p => p.ParticipantId == joined.ParticipantId), mark);

        var check = new ConnectionCheckSummary("good", true, true, 42, 0.5, 1200);
        mark = ada.Mark;
        await patient.ReportConnectionCheckAsync(check);
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Any(p => p.ConnectionCheck is not null), mark);
        Assert.Equal(check, Assert.Single(snapshot.Waiting).ConnectionCheck);
    }

    [Fact(Timeout = Bound)]
    public async Task Admit_tells_the_participant_opens_the_media_gate_and_announces_the_peer()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, joined) = await s.JoinContactAsync(s.PatientToken);
        await patient.PublishAsync(Sdp.ChromeOffer);
        Assert.False(Peer(s, joined.ParticipantId!)!.IsAdmitted);

        var mark = ada.Mark;
        var patientMark = patient.Mark;
        Assert.True(await ada.AdmitAsync(joined.ParticipantId!));

        var notice = await patient.WaitForStateAsync(ParticipantStates.Admitted, patientMark);
        Assert.Equal(s.Ada.Name, notice.ByName);
        var already = Assert.Single(notice.Peers!);
        Assert.Equal((s.Ada.ParticipantId, s.Ada.Name, ParticipantRoles.Therapist), (already.ParticipantId, already.Name, already.Role));
        var peer = await ada.WaitAsync<PeerInfo>(HubClient.PeerJoined, p => p.ParticipantId == joined.ParticipantId, mark);
        Assert.Equal(ParticipantRoles.Patient, peer.Role);
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0, mark);
        Assert.Equal(new[] { s.Ada.ParticipantId, joined.ParticipantId! }.Order(), snapshot.InSession.Select(p => p.ParticipantId).Order());
        Assert.True(Peer(s, joined.ParticipantId!)!.IsAdmitted);

        Assert.False(await ada.AdmitAsync(joined.ParticipantId!)); // already in
        Assert.False(await ada.AdmitAsync("contact-nobody"));
        var admitted = Assert.Single(await Server.AuditAsync(s.AppointmentId), e => e!["kind"]!.GetValue<string>() == "admitted");
        Assert.Equal(s.Ada.Id, admitted!["actorId"]!.GetValue<Guid>());
        Assert.Equal(s.PatientContactId, admitted["subjectId"]!.GetValue<Guid>());
    }

    [Fact(Timeout = Bound)]
    public async Task Deny_removes_from_the_queue_and_the_denied_contact_cannot_come_back()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, joined) = await s.JoinContactAsync(s.PatientToken);
        await patient.PublishAsync(Sdp.ChromeOffer);

        var mark = ada.Mark;
        Assert.True(await ada.DenyAsync(joined.ParticipantId!));
        var notice = await patient.WaitForStateAsync(ParticipantStates.Denied);
        Assert.Equal(s.Ada.Name, notice.ByName);
        await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0 && w.InSession.Count == 1, mark);
        Assert.Null(Peer(s, joined.ParticipantId!)); // nothing of theirs stays in the relay
        Assert.False(await ada.AdmitAsync(joined.ParticipantId!));
        Assert.False(await ada.DenyAsync(joined.ParticipantId!));

        // The open tab cannot negotiate media any more, and a new tab with the same link is refused.
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        Assert.Null(Peer(s, joined.ParticipantId!));
        mark = ada.Mark;
        var again = await Server.ConnectAsync();
        JoinRefusalTests.AssertRefused(await again.JoinWithTokenAsync(s.PatientToken), "not-admitted");
        await Assert.ThrowsAsync<HubException>(() => again.PublishAsync(Sdp.ChromeOffer));

        // The caregiver's knock comes after the refused attempt: it did not knock or change the queue.
        await s.JoinContactAsync(s.CaregiverToken);
        var knock = await ada.WaitAsync<WaitingParticipant>(HubClient.Knock, after: mark);
        Assert.Equal("Tom Keller", knock.Name);
        Assert.Single(ada.All<WaitingParticipant>(HubClient.Knock, mark));

        var audit = await Server.AuditAsync(s.AppointmentId);
        var denied = Assert.Single(audit, e => e!["kind"]!.GetValue<string>() == "denied");
        Assert.Equal(s.PatientContactId, denied!["subjectId"]!.GetValue<Guid>());
        Assert.Equal(["not-admitted"], await s.RefusalsInAuditAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Send_to_waiting_room_closes_the_gate_and_puts_the_participant_back_in_the_queue()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, joined) = await s.JoinContactAsync(s.PatientToken);
        var id = joined.ParticipantId!;
        await patient.PublishAsync(Sdp.ChromeOffer);
        Assert.True(await ada.AdmitAsync(id));
        Assert.False(await ada.SendToWaitingRoomAsync(s.Ada.ParticipantId)); // a therapist is never sent back

        Server.Time.Advance(TimeSpan.FromMinutes(1));
        var mark = ada.Mark;
        var patientMark = patient.Mark;
        Assert.True(await ada.SendToWaitingRoomAsync(id));

        var notice = await patient.WaitForStateAsync(ParticipantStates.SentBack, patientMark);
        Assert.Equal(s.Ada.Name, notice.ByName);
        var left = await ada.WaitAsync<PeerInfo>(HubClient.PeerLeft, p => p.ParticipantId == id, mark);
        Assert.Equal("Mia Keller", left.Name);
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Any(p => p.ParticipantId == id), mark);
        Assert.Equal(Server.Time.GetUtcNow(), Assert.Single(snapshot.Waiting).WaitingSince);
        Assert.DoesNotContain(snapshot.InSession, p => p.ParticipantId == id);
        Assert.False(Peer(s, id)!.IsAdmitted);
        Assert.False(await ada.SendToWaitingRoomAsync(id));

        // A refresh while sent back keeps the place; admitting again works.
        var tab = await Server.ConnectAsync();
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, (await tab.JoinWithTokenAsync(s.PatientToken)).State);
        Assert.True(await ada.AdmitAsync(id));
        await patient.WaitForStateAsync(ParticipantStates.Admitted, patientMark);
        Assert.True(Peer(s, id)!.IsAdmitted);
        Assert.Contains("sent-back", await s.AuditKindsAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Admit_all_admits_everyone_waiting_including_a_sent_back_participant()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        var (caregiver, c) = await s.JoinContactAsync(s.CaregiverToken);
        Assert.Equal(ParticipantRoles.Caregiver, c.Role);
        await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 2);

        Assert.True(await ada.AdmitAllAsync());
        await patient.WaitForStateAsync(ParticipantStates.Admitted);
        await caregiver.WaitForStateAsync(ParticipantStates.Admitted);
        await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0 && w.InSession.Count == 3);
        Assert.False(await ada.AdmitAllAsync()); // nobody left to admit

        Assert.True(await ada.SendToWaitingRoomAsync(p.ParticipantId!));
        var mark = patient.Mark;
        Assert.True(await ada.AdmitAllAsync());
        await patient.WaitForStateAsync(ParticipantStates.Admitted, mark);
        Assert.Equal(3, (await s.AuditKindsAsync()).Count(k => k == "admitted"));
    }

    [Fact(Timeout = Bound)]
    public async Task Message_reaches_the_waiting_room_only_and_bad_messages_are_rejected()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        var (caregiver, _) = await s.JoinContactAsync(s.CaregiverToken);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);

        Assert.True(await ada.MessageWaitingRoomAsync("  Running 5 minutes late  "));
        var message = await caregiver.WaitAsync<WaitingRoomMessage>(HubClient.WaitingRoomMessage);
        Assert.Equal("Running 5 minutes late", message.Text);
        Assert.Equal(s.Ada.Name, message.FromName);
        Assert.Equal(Server.Time.GetUtcNow(), message.SentAt);

        // The admitted patient got no message before being sent back (events to a connection keep their order);
        // back in the waiting room the next one reaches them.
        Assert.True(await ada.SendToWaitingRoomAsync(p.ParticipantId!));
        var mark = await MarkOfStateAsync(patient, ParticipantStates.SentBack);
        Assert.Empty(patient.All<WaitingRoomMessage>(HubClient.WaitingRoomMessage));
        Assert.True(await ada.MessageWaitingRoomAsync("Almost there"));
        Assert.Equal("Almost there", (await patient.WaitAsync<WaitingRoomMessage>(HubClient.WaitingRoomMessage, after: mark)).Text);
        Assert.Empty(ada.All<WaitingRoomMessage>(HubClient.WaitingRoomMessage)); // therapists are not in the waiting room

        foreach (var bad in new[] { "", "   ", new string('x', 501) })
        {
            await Assert.ThrowsAsync<HubException>(() => ada.MessageWaitingRoomAsync(bad));
        }

        Assert.True(await ada.MessageWaitingRoomAsync(new string('y', 500)));
        await Assert.ThrowsAsync<HubException>(() => caregiver.MessageWaitingRoomAsync("let me in"));
    }

    [Fact(Timeout = Bound)]
    public async Task A_contact_cannot_use_the_therapist_controls()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        var (caregiver, c) = await s.JoinContactAsync(s.CaregiverToken);

        await Assert.ThrowsAsync<HubException>(() => patient.AdmitAsync(p.ParticipantId!));
        await Assert.ThrowsAsync<HubException>(() => patient.AdmitAsync(c.ParticipantId!));
        await Assert.ThrowsAsync<HubException>(() => patient.AdmitAllAsync());
        await Assert.ThrowsAsync<HubException>(() => patient.DenyAsync(c.ParticipantId!));
        await Assert.ThrowsAsync<HubException>(() => patient.SendToWaitingRoomAsync(c.ParticipantId!));
        await Assert.ThrowsAsync<HubException>(() => patient.EndSessionAsync());

        // Nothing changed: both still wait.
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 2);
        Assert.DoesNotContain("admitted", await s.AuditKindsAsync());
        Assert.Empty(caregiver.All<ParticipantStateNotice>(HubClient.StateChanged));
        Assert.Single(snapshot.InSession);

        // Before joining, nobody can do anything.
        var stranger = await Server.ConnectAsync();
        await Assert.ThrowsAsync<HubException>(() => stranger.AdmitAllAsync());
        await Assert.ThrowsAsync<HubException>(() => stranger.MessageWaitingRoomAsync("hi"));
        await Assert.ThrowsAsync<HubException>(() => stranger.LeaveAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task A_second_listed_therapist_sees_the_same_queue_and_hears_the_knocks()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);

        var ben = await s.ConnectStaffAsync(s.Ben);
        var benJoin = await ben.JoinAsTherapistAsync(s.AppointmentId);
        Assert.True(benJoin.Accepted);
        Assert.Equal([p.ParticipantId], benJoin.WaitingRoom!.Waiting.Select(w => w.ParticipantId));
        Assert.Equal(new[] { s.Ada.ParticipantId, s.Ben.ParticipantId }.Order(), benJoin.WaitingRoom.InSession.Select(x => x.ParticipantId).Order());
        await ada.WaitAsync<PeerInfo>(HubClient.PeerJoined, x => x.ParticipantId == s.Ben.ParticipantId);

        var adaMark = ada.Mark;
        var benMark = ben.Mark;
        var (_, c) = await s.JoinContactAsync(s.CaregiverToken);
        Assert.Equal(c.ParticipantId, (await ada.WaitAsync<WaitingParticipant>(HubClient.Knock, after: adaMark)).ParticipantId);
        Assert.Equal(c.ParticipantId, (await ben.WaitAsync<WaitingParticipant>(HubClient.Knock, after: benMark)).ParticipantId);

        Assert.True(await ben.AdmitAsync(p.ParticipantId!));
        Assert.Equal(s.Ben.Name, (await patient.WaitForStateAsync(ParticipantStates.Admitted)).ByName);
        await ada.WaitForSnapshotAsync(w => w.Waiting.Select(x => x.ParticipantId).SequenceEqual([c.ParticipantId]) && w.InSession.Count == 3, adaMark);
        Assert.False(await ada.AdmitAsync(p.ParticipantId!)); // already admitted by Ben
    }

    private static async Task<int> MarkOfStateAsync(HubClient client, string state)
    {
        await client.WaitForStateAsync(state);
        return client.Mark;
    }
}
