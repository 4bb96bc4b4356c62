using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// Cancelling or rescheduling an appointment through the REST API reaches the people already in its room, not only
/// their next join (README: The join rules: a link "stops working when the appointment is cancelled or rescheduled").
/// </summary>
public sealed class AppointmentChangeTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    private const int Bound = 20_000;

    [Fact(Timeout = Bound)]
    public async Task Cancel_tells_everyone_cancelled_closes_the_room_and_the_relay_and_is_audited()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        await patient.PublishAsync(Sdp.ChromeOffer);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        var (caregiver, c) = await s.JoinContactAsync(s.CaregiverToken);
        await caregiver.PublishAsync(Sdp.ChromeOffer);
        Assert.NotNull(Peer(s, p.ParticipantId!));
        Assert.NotNull(Peer(s, c.ParticipantId!));

        // Ben cancels from his calendar (signed in): the audit names him.
        using var ben = Server.NewClient(await s.SignInAsync(s.Ben));
        var cancelled = await ben.PostAsync($"api/v1/appointments/{s.AppointmentId}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);

        foreach (var client in new[] { ada, patient, caregiver })
        {
            Assert.Equal("cancelled", await client.WaitAsync<string>(HubClient.SessionEnded));
            var notice = await client.WaitForStateAsync(ParticipantStates.SessionEnded);
            Assert.Equal("cancelled", notice.Reason);
        }

        // The relay forwards nothing more: the session's router is gone with every peer in it.
        Assert.Null(Router(s));
        Assert.Null(Peer(s, p.ParticipantId!));
        Assert.Null(Peer(s, c.ParticipantId!));

        // The old connections can do nothing in the session any more.
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        await Assert.ThrowsAsync<HubException>(() => caregiver.RequestSubscribeOfferAsync());
        await Assert.ThrowsAsync<HubException>(() => caregiver.ReportConnectionCheckAsync(new ConnectionCheckSummary("good", true, true, 20, 0, 900)));
        await Assert.ThrowsAsync<HubException>(() => ada.AdmitAllAsync());
        await Assert.ThrowsAsync<HubException>(() => ada.MessageWaitingRoomAsync("Are you still there?"));
        await Assert.ThrowsAsync<HubException>(() => ada.EndSessionAsync());
        Assert.Null(Router(s)); // and their attempts brought no relay peer back

        var ended = Assert.Single(await Server.AuditAsync(s.AppointmentId), e => e!["kind"]!.GetValue<string>() == "ended")!;
        Assert.Equal("cancelled", ended["reason"]!.GetValue<string>());
        Assert.Equal("staff", ended["actorKind"]!.GetValue<string>());
        Assert.Equal(s.Ben.Id, ended["actorId"]!.GetValue<Guid>());

        // Every new join is refused cancelled, as before.
        JoinRefusalTests.AssertRefused(await ada.JoinAsTherapistAsync(s.AppointmentId), "cancelled");
        JoinRefusalTests.AssertRefused(await patient.JoinWithTokenAsync(s.PatientToken), "cancelled");
    }

    [Fact(Timeout = Bound)]
    public async Task Cancel_by_an_integrator_reaches_a_patient_waiting_for_the_therapist_and_leaves_other_sessions_alone()
    {
        var s = await ScenarioAsync();
        var other = await ScenarioAsync();
        var (patient, _) = await s.JoinContactAsync(s.PatientToken);
        var otherAda = await other.JoinTherapistAsync(other.Ada);
        var (otherPatient, _) = await other.JoinContactAsync(other.PatientToken);
        var otherMark = otherPatient.Mark;

        Assert.Equal(HttpStatusCode.OK, (await Server.Integrator.PostAsync($"api/v1/appointments/{s.AppointmentId}/cancel", null)).StatusCode);

        Assert.Equal("cancelled", await patient.WaitAsync<string>(HubClient.SessionEnded));
        Assert.Equal("cancelled", (await patient.WaitForStateAsync(ParticipantStates.SessionEnded)).Reason);
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        var ended = Assert.Single(await Server.AuditAsync(s.AppointmentId), e => e!["kind"]!.GetValue<string>() == "ended")!;
        Assert.Equal(("cancelled", "integrator"), (ended["reason"]!.GetValue<string>(), ended["actorKind"]!.GetValue<string>()));

        // Cancelling again changes nothing and tells nobody twice.
        Assert.Equal(HttpStatusCode.OK, (await Server.Integrator.PostAsync($"api/v1/appointments/{s.AppointmentId}/cancel", null)).StatusCode);
        Assert.Single(await Server.AuditAsync(s.AppointmentId), e => e!["kind"]!.GetValue<string>() == "ended");
        Assert.Single(patient.All<string>(HubClient.SessionEnded));

        // The other appointment's session goes on.
        Assert.True(await otherAda.AdmitAllAsync());
        await otherPatient.WaitForStateAsync(ParticipantStates.Admitted, otherMark);
        Assert.Empty(otherPatient.All<string>(HubClient.SessionEnded));
        Assert.Empty(otherAda.All<string>(HubClient.SessionEnded));
    }

    [Fact(Timeout = Bound)]
    public async Task Reschedule_within_the_open_room_sends_the_contacts_away_with_link_revoked_and_the_therapist_stays()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        await ada.PublishAsync(Sdp.ChromeOffer);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        await patient.PublishAsync(Sdp.ChromeOffer);
        Assert.True(await ada.AdmitAsync(p.ParticipantId!));
        var (caregiver, c) = await s.JoinContactAsync(s.CaregiverToken);
        await caregiver.PublishAsync(Sdp.ChromeOffer);
        var adaMark = ada.Mark;

        // Three minutes later: the room (open from the new start − 10 min) is still open for Ada.
        var moved = await RescheduleAsync(s, s.Start.AddMinutes(3));
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);

        foreach (var client in new[] { patient, caregiver })
        {
            Assert.Equal("link-revoked", await client.WaitAsync<string>(HubClient.SessionEnded));
            Assert.Equal("link-revoked", (await client.WaitForStateAsync(ParticipantStates.SessionEnded)).Reason);
        }

        Assert.Null(Peer(s, p.ParticipantId!));
        Assert.Null(Peer(s, c.ParticipantId!));
        Assert.NotNull(Peer(s, s.Ada.ParticipantId)); // Ada keeps her room and her media
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        await Assert.ThrowsAsync<HubException>(() => caregiver.ReportConnectionCheckAsync(new ConnectionCheckSummary("good", true, true, 20, 0, 900)));
        Assert.Null(Peer(s, c.ParticipantId!));

        Assert.Equal(p.ParticipantId, (await ada.WaitAsync<PeerInfo>(HubClient.PeerLeft, x => x.ParticipantId == p.ParticipantId, adaMark)).ParticipantId);
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0 && w.InSession.Count == 1, adaMark);
        Assert.Equal(s.Ada.ParticipantId, Assert.Single(snapshot.InSession).ParticipantId);
        Assert.Empty(ada.All<string>(HubClient.SessionEnded, adaMark));
        Assert.False(await ada.AdmitAllAsync()); // her controls still work; nobody waits

        var removed = (await Server.AuditAsync(s.AppointmentId)).Where(e => e!["kind"]!.GetValue<string>() == "removed").ToList();
        Assert.Equal(new[] { s.PatientContactId, s.CaregiverContactId }.Order(), removed.Select(e => e!["subjectId"]!.GetValue<Guid>()).Order());
        Assert.All(removed, e => Assert.Equal(("link-revoked", "integrator"), (e!["reason"]!.GetValue<string>(), e["actorKind"]!.GetValue<string>())));
        Assert.DoesNotContain("ended", await s.AuditKindsAsync());

        // The old link is refused; the new one from the rescheduled email knocks again, and Ada hears it.
        JoinRefusalTests.AssertRefused(await patient.JoinWithTokenAsync(s.PatientToken), "link-revoked");
        var newToken = (await SessionScenario.JoinTokensAsync(Server, s.PatientEmail, 2))[^1];
        Assert.NotEqual(s.PatientToken, newToken);
        adaMark = ada.Mark;
        var (_, again) = await s.JoinContactAsync(newToken);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, again.State);
        Assert.Equal(p.ParticipantId, (await ada.WaitAsync<WaitingParticipant>(HubClient.Knock, after: adaMark)).ParticipantId);
    }

    [Fact(Timeout = Bound)]
    public async Task Reschedule_to_a_later_time_sends_the_patient_away_and_closes_the_room_for_the_therapists_too_early()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var ben = await s.JoinTherapistAsync(s.Ben);
        var (patient, p) = await s.JoinContactAsync(s.PatientToken);
        await patient.PublishAsync(Sdp.ChromeOffer);
        var newStart = s.Start.AddHours(2);

        Assert.Equal(HttpStatusCode.OK, (await RescheduleAsync(s, newStart)).StatusCode);

        Assert.Equal("link-revoked", await patient.WaitAsync<string>(HubClient.SessionEnded));
        foreach (var therapist in new[] { ada, ben })
        {
            Assert.Equal("too-early", await therapist.WaitAsync<string>(HubClient.SessionEnded));
            Assert.Equal("too-early", (await therapist.WaitForStateAsync(ParticipantStates.SessionEnded)).Reason);
        }

        Assert.Null(Router(s));
        await Assert.ThrowsAsync<HubException>(() => ada.AdmitAllAsync());
        await Assert.ThrowsAsync<HubException>(() => ben.PublishAsync(Sdp.ChromeOffer));
        var audit = await Server.AuditAsync(s.AppointmentId);
        Assert.Equal("link-revoked", Assert.Single(audit, e => e!["kind"]!.GetValue<string>() == "removed")!["reason"]!.GetValue<string>());
        Assert.Equal("too-early", Assert.Single(audit, e => e!["kind"]!.GetValue<string>() == "ended")!["reason"]!.GetValue<string>());
        JoinRefusalTests.AssertRefused(await ada.JoinAsTherapistAsync(s.AppointmentId), "too-early");

        // At the new time the room opens afresh: Ada is in it alone, and the patient knocks with the new link.
        Server.Time.SetUtcNow(newStart.AddMinutes(-10));
        var fresh = await ada.JoinAsTherapistAsync(s.AppointmentId);
        Assert.True(fresh.Accepted);
        Assert.Empty(fresh.WaitingRoom!.Waiting);
        Assert.Equal(s.Ada.ParticipantId, Assert.Single(fresh.WaitingRoom.InSession).ParticipantId);
        var newToken = (await SessionScenario.JoinTokensAsync(Server, s.PatientEmail, 2))[^1];
        var (_, again) = await s.JoinContactAsync(newToken);
        Assert.Equal(ParticipantStates.WaitingToBeAdmitted, again.State);
        Assert.Equal(newStart.AddMinutes(-10), again.OpensAt);
    }

    [Fact(Timeout = Bound)]
    public async Task Reschedule_that_takes_a_therapist_off_the_appointment_sends_only_that_therapist_away_not_listed()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        await ada.PublishAsync(Sdp.ChromeOffer);
        var ben = await s.JoinTherapistAsync(s.Ben);
        var benMark = ben.Mark;

        Assert.Equal(HttpStatusCode.OK, (await RescheduleAsync(s, s.Start, therapistIds: [s.Ben.Id])).StatusCode);

        Assert.Equal("not-listed", await ada.WaitAsync<string>(HubClient.SessionEnded));
        Assert.Null(Peer(s, s.Ada.ParticipantId));
        await Assert.ThrowsAsync<HubException>(() => ada.AdmitAllAsync());
        await ben.WaitForSnapshotAsync(w => w.InSession.Select(x => x.ParticipantId).SequenceEqual([s.Ben.ParticipantId]), benMark);
        Assert.Empty(ben.All<string>(HubClient.SessionEnded));
        Assert.False(await ben.AdmitAllAsync());

        var removed = Assert.Single(await Server.AuditAsync(s.AppointmentId), e => e!["kind"]!.GetValue<string>() == "removed")!;
        Assert.Equal(("not-listed", s.Ada.Id), (removed["reason"]!.GetValue<string>(), removed["subjectId"]!.GetValue<Guid>()));
        JoinRefusalTests.AssertRefused(await ada.JoinAsTherapistAsync(s.AppointmentId), "not-listed");
    }

    [Fact(Timeout = Bound)]
    public async Task A_join_that_read_the_appointment_just_before_the_cancel_is_refused_once_it_reaches_the_room()
    {
        var s = await ScenarioAsync();
        // The patient's link passes the rules; before the join reaches the room Ben cancels (committed, and its
        // listener has looked for people in the room and found none).
        var coordinator = Server.Services.GetRequiredService<SessionCoordinator>();
        using var ben = Server.NewClient(await s.SignInAsync(s.Ben));
        coordinator.AfterJoinRulesCheckedForTests = async appointmentId =>
        {
            if (appointmentId == s.AppointmentId && coordinator.AfterJoinRulesCheckedForTests is not null)
            {
                coordinator.AfterJoinRulesCheckedForTests = null;
                Assert.Equal(HttpStatusCode.OK, (await ben.PostAsync($"api/v1/appointments/{s.AppointmentId}/cancel", null)).StatusCode);
            }
        };

        var patient = await Server.ConnectAsync();
        try
        {
            JoinRefusalTests.AssertRefused(await patient.JoinWithTokenAsync(s.PatientToken), "cancelled");
        }
        finally
        {
            coordinator.AfterJoinRulesCheckedForTests = null;
        }

        var ada = await s.ConnectStaffAsync(s.Ada);
        JoinRefusalTests.AssertRefused(await ada.JoinAsTherapistAsync(s.AppointmentId), "cancelled");

        // No room or relay router was left behind, and nobody can act in the session.
        Assert.Null(coordinator.FindRoom(s.AppointmentId));
        Assert.Null(Router(s));
        await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        await Assert.ThrowsAsync<HubException>(() => ada.AdmitAllAsync());
        var refused = (await Server.AuditAsync(s.AppointmentId)).Where(e => e!["kind"]!.GetValue<string>() == "join-refused").ToList();
        Assert.Equal(2, refused.Count(e => e!["reason"]!.GetValue<string>() == "cancelled"));
    }

    [Fact(Timeout = Bound)]
    public async Task A_join_whose_link_is_revoked_by_a_reschedule_between_its_check_and_the_room_is_refused_and_leaves_nothing_behind()
    {
        var s = await ScenarioAsync();
        var ada = await s.JoinTherapistAsync(s.Ada);
        var adaMark = ada.Mark;
        var coordinator = Server.Services.GetRequiredService<SessionCoordinator>();

        // The patient's link passes the rules; before the join reaches the room the appointment is moved (committed,
        // and its listener has looked in the room and found no patient there).
        coordinator.AfterJoinRulesCheckedForTests = async appointmentId =>
        {
            if (appointmentId == s.AppointmentId && coordinator.AfterJoinRulesCheckedForTests is not null)
            {
                coordinator.AfterJoinRulesCheckedForTests = null;
                Assert.Equal(HttpStatusCode.OK, (await RescheduleAsync(s, s.Start.AddMinutes(3))).StatusCode);
            }
        };
        try
        {
            var patient = await Server.ConnectAsync();
            JoinRefusalTests.AssertRefused(await patient.JoinWithTokenAsync(s.PatientToken), "link-revoked");
            await Assert.ThrowsAsync<HubException>(() => patient.PublishAsync(Sdp.ChromeOffer));
        }
        finally
        {
            coordinator.AfterJoinRulesCheckedForTests = null;
        }

        // Ada never sees the patient knock, nor waiting, and the relay has no peer for them.
        Assert.Null(Peer(s, SessionScenario.ParticipantIdOf(s.PatientContactId)));
        Assert.Empty(ada.All<WaitingParticipant>(HubClient.Knock, adaMark));
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 0 && w.InSession.Count == 1, adaMark);
        Assert.Equal(s.Ada.ParticipantId, Assert.Single(snapshot.InSession).ParticipantId);
        Assert.Contains(await Server.AuditAsync(s.AppointmentId), e => e!["kind"]!.GetValue<string>() == "join-refused" && e["reason"]!.GetValue<string>() == "link-revoked");
        Assert.DoesNotContain("knocked", await s.AuditKindsAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task A_therapist_taken_off_the_appointment_between_the_check_and_the_room_is_refused_not_listed()
    {
        var s = await ScenarioAsync();
        var coordinator = Server.Services.GetRequiredService<SessionCoordinator>();
        coordinator.AfterJoinRulesCheckedForTests = async appointmentId =>
        {
            if (appointmentId == s.AppointmentId && coordinator.AfterJoinRulesCheckedForTests is not null)
            {
                coordinator.AfterJoinRulesCheckedForTests = null;
                Assert.Equal(HttpStatusCode.OK, (await RescheduleAsync(s, s.Start, [s.Ben.Id])).StatusCode);
            }
        };
        try
        {
            var ada = await s.ConnectStaffAsync(s.Ada);
            JoinRefusalTests.AssertRefused(await ada.JoinAsTherapistAsync(s.AppointmentId), "not-listed");
            await Assert.ThrowsAsync<HubException>(() => ada.AdmitAllAsync());
        }
        finally
        {
            coordinator.AfterJoinRulesCheckedForTests = null;
        }

        // She was the only one there: no room and no relay router are left behind.
        Assert.Null(coordinator.FindRoom(s.AppointmentId));
        Assert.Null(Router(s));
    }

    [Fact(Timeout = Bound)]
    public async Task A_join_whose_room_closed_on_its_way_in_knocks_in_the_room_that_opens_next()
    {
        var s = await ScenarioAsync();
        var coordinator = Server.Services.GetRequiredService<SessionCoordinator>();
        SessionRoom? closed = null;
        // The link passes the rules and the join finds the room open; before it gets in, the room is closed and let go
        // with the appointment unchanged (as when its last participant's join was refused).
        coordinator.AfterJoinRulesCheckedForTests = appointmentId =>
        {
            if (appointmentId == s.AppointmentId && coordinator.AfterJoinRulesCheckedForTests is not null)
            {
                coordinator.AfterJoinRulesCheckedForTests = null;
                closed = coordinator.FindRoom(appointmentId)!;
                coordinator.Release(appointmentId);
                closed.End();
            }

            return Task.CompletedTask;
        };
        try
        {
            var (_, joined) = await s.JoinContactAsync(s.PatientToken);
            Assert.Equal(ParticipantStates.WaitingForTherapist, joined.State);
        }
        finally
        {
            coordinator.AfterJoinRulesCheckedForTests = null;
        }

        // The closed room took nobody in; the knock is in the room that is open now, where the therapist sees it.
        Assert.NotNull(closed);
        Assert.All(closed.Participants(), p => Assert.Empty(p.Connections));
        Assert.NotSame(closed, coordinator.FindRoom(s.AppointmentId));
        var ada = await s.JoinTherapistAsync(s.Ada);
        var snapshot = await ada.WaitForSnapshotAsync(w => w.Waiting.Count == 1);
        Assert.Equal(SessionScenario.ParticipantIdOf(s.PatientContactId), Assert.Single(snapshot.Waiting).ParticipantId);
    }

    private Task<HttpResponseMessage> RescheduleAsync(SessionScenario s, DateTimeOffset start, Guid[]? therapistIds = null) =>
        Server.Integrator.PutAsJsonAsync($"api/v1/appointments/{s.AppointmentId}", new JsonObject
        {
            ["start"] = start,
            ["durationMinutes"] = 50,
            ["therapistIds"] = therapistIds is null ? null : new JsonArray(therapistIds.Select(id => (JsonNode)id).ToArray()),
        });

    private Router? Router(SessionScenario s) =>
        Server.Services.GetRequiredService<MediaRelayService>().FindRouter(s.AppointmentId.ToString("N"));
}
