using System.Net;
using System.Net.Http.Json;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>Every join the rules refuse, through the hub, with its reason and its audit entry (README: The join rules).</summary>
public sealed class JoinRefusalTests(ClinicFixture clinic) : HubTestBase(clinic), IClassFixture<ClinicFixture>
{
    private const int Bound = 20_000;

    [Fact(Timeout = Bound)]
    public async Task Unlisted_therapist_is_refused_not_listed_and_the_attempt_is_audited()
    {
        var s = await ScenarioAsync();
        var olga = await s.ConnectStaffAsync(s.Olga);

        var result = await olga.JoinAsTherapistAsync(s.AppointmentId);

        AssertRefused(result, "not-listed");
        Assert.Null(result.OpensAt);
        Assert.Equal(["not-listed"], await s.RefusalsInAuditAsync());
        var audit = Assert.Single(await Server.AuditAsync(s.AppointmentId));
        Assert.Equal(s.Olga.Id, audit!["actorId"]!.GetValue<Guid>());

        // Refused means nothing: no room controls for her.
        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => olga.AdmitAllAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Anonymous_connection_cannot_join_as_therapist()
    {
        var s = await ScenarioAsync();
        var anonymous = await Server.ConnectAsync();

        AssertRefused(await anonymous.JoinAsTherapistAsync(s.AppointmentId), "unauthorized");

        // A contact's connection is no therapist either, even after joining with a good link.
        var (patient, _) = await s.JoinContactAsync(s.PatientToken);
        AssertRefused(await patient.JoinAsTherapistAsync(s.AppointmentId), "unauthorized");
    }

    [Fact(Timeout = Bound)]
    public async Task Therapist_more_than_10_minutes_early_is_refused_too_early_and_at_exactly_10_minutes_is_accepted()
    {
        var s = await ScenarioAsync(startIn: TimeSpan.FromMinutes(30));
        var ada = await s.ConnectStaffAsync(s.Ada);

        Server.Time.SetUtcNow(s.Start - TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        var early = await ada.JoinAsTherapistAsync(s.AppointmentId);
        AssertRefused(early, "too-early");
        Assert.Equal(s.OpensAt, early.OpensAt);
        Assert.Equal(["too-early"], await s.RefusalsInAuditAsync());

        Server.Time.SetUtcNow(s.Start - TimeSpan.FromMinutes(10));
        var onTime = await ada.JoinAsTherapistAsync(s.AppointmentId);
        Assert.True(onTime.Accepted);
        Assert.Equal(ParticipantStates.Admitted, onTime.State);
        Assert.Equal(s.Ada.ParticipantId, onTime.ParticipantId);
        Assert.Equal("therapist", onTime.Role);
        Assert.Equal(s.Ada.Name, onTime.Name);
        Assert.NotNull(onTime.WaitingRoom);
        Assert.Equal(["too-early"], await s.RefusalsInAuditAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Link_before_the_room_opens_is_too_early_with_opens_at_and_works_once_it_opens()
    {
        var s = await ScenarioAsync(startIn: TimeSpan.FromMinutes(30));
        var patient = await Server.ConnectAsync();

        var early = await patient.JoinWithTokenAsync(s.PatientToken);
        AssertRefused(early, "too-early");
        Assert.Equal(s.OpensAt, early.OpensAt);
        Assert.Equal(["too-early"], await s.RefusalsInAuditAsync());
        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => patient.PublishAsync("v=0"));

        // The join page counts down and tries again at opensAt, on the same connection.
        Server.Time.SetUtcNow(s.OpensAt);
        var open = await patient.JoinWithTokenAsync(s.PatientToken);
        Assert.True(open.Accepted);
        Assert.Equal(ParticipantStates.WaitingForTherapist, open.State);
    }

    [Fact(Timeout = Bound)]
    public async Task After_the_end_plus_grace_the_therapist_gets_ended_and_links_link_expired()
    {
        var s = await ScenarioAsync();
        var ada = await s.ConnectStaffAsync(s.Ada);
        var patient = await Server.ConnectAsync();

        // One second before the room closes both still work.
        Server.Time.SetUtcNow(s.End + TimeSpan.FromMinutes(60) - TimeSpan.FromSeconds(1));
        Assert.True((await ada.JoinAsTherapistAsync(s.AppointmentId)).Accepted);
        Assert.True((await patient.JoinWithTokenAsync(s.PatientToken)).Accepted);
        await ada.DropAsync();
        await patient.DropAsync();

        Server.Time.SetUtcNow(s.End + TimeSpan.FromMinutes(60));
        var lateTherapist = await s.ConnectStaffAsync(s.Ada);
        AssertRefused(await lateTherapist.JoinAsTherapistAsync(s.AppointmentId), "ended");
        var latePatient = await Server.ConnectAsync();
        AssertRefused(await latePatient.JoinWithTokenAsync(s.PatientToken), "link-expired");
        Assert.Equal(["ended", "link-expired"], await s.RefusalsInAuditAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Cancelled_appointment_refuses_therapist_and_links_with_cancelled()
    {
        var s = await ScenarioAsync();
        Assert.Equal(HttpStatusCode.OK, (await Server.Integrator.PostAsync($"api/v1/appointments/{s.AppointmentId}/cancel", null)).StatusCode);

        var ada = await s.ConnectStaffAsync(s.Ada);
        AssertRefused(await ada.JoinAsTherapistAsync(s.AppointmentId), "cancelled");
        var patient = await Server.ConnectAsync();
        AssertRefused(await patient.JoinWithTokenAsync(s.PatientToken), "cancelled");
        AssertRefused(await patient.JoinWithTokenAsync(s.CaregiverToken), "cancelled");
        Assert.Equal(["cancelled", "cancelled", "cancelled"], await s.RefusalsInAuditAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Rescheduled_appointment_revokes_the_old_link_and_the_new_link_counts_down()
    {
        var s = await ScenarioAsync();
        var moved = await Server.Integrator.PutAsJsonAsync($"api/v1/appointments/{s.AppointmentId}", new { start = s.Start.AddDays(1), durationMinutes = 50 });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);

        var patient = await Server.ConnectAsync();
        AssertRefused(await patient.JoinWithTokenAsync(s.PatientToken), "link-revoked");

        var tokens = await SessionScenario.JoinTokensAsync(Server, s.PatientEmail, 2);
        var newToken = Assert.Single(tokens, t => t != s.PatientToken);
        var early = await patient.JoinWithTokenAsync(newToken);
        AssertRefused(early, "too-early");
        Assert.Equal(s.OpensAt.AddDays(1), early.OpensAt);
        Assert.Equal(["link-revoked", "too-early"], await s.RefusalsInAuditAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Unknown_or_garbage_token_is_not_found()
    {
        var s = await ScenarioAsync();
        var client = await Server.ConnectAsync();

        foreach (var token in new[] { "", "   ", "garbage", "../../etc/passwd", "a-well-formed-token-that-was-never-issued-AAAAAAAAAAAA" })
        {
            AssertRefused(await client.JoinWithTokenAsync(token), "not-found");
        }

        AssertRefused(await client.JoinWithTokenAsync(new string('x', 5000)), "not-found");
        var flipped = (s.PatientToken[0] == 'A' ? "B" : "A") + s.PatientToken[1..];
        AssertRefused(await client.JoinWithTokenAsync(flipped), "not-found");

        // Nothing to audit against, and nothing joined.
        Assert.Empty(await s.RefusalsInAuditAsync());
        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => client.RequestSubscribeOfferAsync());
    }

    [Fact(Timeout = Bound)]
    public async Task Unknown_appointment_is_not_found_for_a_therapist()
    {
        var s = await ScenarioAsync();
        var ada = await s.ConnectStaffAsync(s.Ada);
        AssertRefused(await ada.JoinAsTherapistAsync(Guid.NewGuid()), "not-found");
    }

    internal static void AssertRefused(JoinResult result, string reason)
    {
        Assert.False(result.Accepted, $"Expected a refusal with {reason}.");
        Assert.Equal(reason, result.Reason);
        Assert.Null(result.ParticipantId);
        Assert.Null(result.WaitingRoom);
    }
}
