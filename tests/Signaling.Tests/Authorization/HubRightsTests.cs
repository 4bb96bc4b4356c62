using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Teletherapy.Signaling.Sessions;
using Teletherapy.Signaling.Tests.Sessions;

namespace Teletherapy.Signaling.Tests.Authorization;

/// <summary>
/// The rights table against every method of the session hub: only a therapist listed on the appointment joins it
/// as staff and uses the therapist's controls; nobody else (anonymous, a waiting patient, an admin or therapist not
/// listed, a scheduler) can admit, deny, send back, message the waiting room or end the session. The table is checked
/// against the hub's own methods, so a method added without a row fails.
/// </summary>
public sealed class HubRightsTests(RightsFixture fixture) : IClassFixture<RightsFixture>
{
    /// <summary>Each hub method and how a caller in the room as something other than a listed therapist is refused.</summary>
    private static readonly Dictionary<string, Func<HubClient, string, Task>> Controls = new()
    {
        ["Admit"] = (c, patient) => c.AdmitAsync(patient),
        ["AdmitAll"] = (c, _) => c.AdmitAllAsync(),
        ["Deny"] = (c, patient) => c.DenyAsync(patient),
        ["SendToWaitingRoom"] = (c, patient) => c.SendToWaitingRoomAsync(patient),
        ["MessageWaitingRoom"] = (c, _) => c.MessageWaitingRoomAsync("Running late"),
        ["AllowScreenShare"] = (c, patient) => c.CallAsync<bool>("AllowScreenShare", patient, true),
        ["EndSession"] = (c, _) => c.EndSessionAsync(),
    };

    /// <summary>Methods every participant in the room may call for themselves (their own media and presence); refused before a join.</summary>
    private static readonly Dictionary<string, Func<HubClient, Task>> OwnMedia = new()
    {
        ["Publish"] = c => c.PublishAsync("v=0"),
        ["RequestSubscribeOffer"] = c => c.RequestSubscribeOfferAsync(),
        ["RequestNewSubscribeConnection"] = c => c.RequestNewSubscribeConnectionAsync(),
        ["SubscribeAnswer"] = c => c.CallAsync("SubscribeAnswer", "v=0"),
        ["SetVideoSize"] = c => c.SetVideoSizeAsync("someone", 320, 240),
        ["ReportConnectionCheck"] = c => c.ReportConnectionCheckAsync(new ConnectionCheckSummary("good", true, true, 20, 0, 900)),
        ["Leave"] = c => c.LeaveAsync(),
        ["SetMediaState"] = c => c.SetMediaStateAsync(true, false),
        ["SendChatMessage"] = c => c.SendChatMessageAsync("Hello"),
    };

    private static readonly string[] Joins = ["JoinAsTherapist", "JoinWithToken", "JoinWithTokenOnDevice"];

    [Fact]
    public void Every_hub_method_has_a_rule()
    {
        var methods = typeof(SessionHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && m.Name is not ("OnConnectedAsync" or "OnDisconnectedAsync"))
            .Select(m => m.Name).Order().ToList();
        Assert.Equal(Controls.Keys.Concat(OwnMedia.Keys).Concat(Joins).Order().ToList(), methods);
    }

    [Fact]
    public async Task Only_a_listed_therapist_joins_and_uses_the_controls()
    {
        var server = fixture.Server;
        var token = (await SessionScenario.JoinTokensAsync(server, fixture.PatientEmail, 1))[0];
        var patient = await server.ConnectAsync();
        var knocked = await patient.JoinWithTokenAsync(token);
        Assert.True(knocked.Accepted, knocked.Reason);
        var patientId = knocked.ParticipantId!;

        // The waiting patient is a participant, but not a therapist: every control is refused.
        Assert.Equal("unauthorized", (await patient.JoinAsTherapistAsync(fixture.AppointmentId)).Reason);
        foreach (var (name, control) in Controls)
        {
            await AssertRefusedAsync(() => control(patient, patientId), $"waiting patient: {name}");
        }

        // Nor may they chat before they are let in (ChatTests has the rest of the chat's rules).
        await AssertRefusedAsync(() => patient.SendChatMessageAsync("Hello?"), "waiting patient: SendChatMessage");

        var refusals = new Dictionary<Who, string>
        {
            [Who.Anonymous] = "unauthorized",
            [Who.Admin] = "not-listed",
            [Who.Scheduler] = "forbidden",
            [Who.OtherTherapist] = "not-listed",
        };
        foreach (var (who, reason) in refusals)
        {
            var client = await server.ConnectAsync(who == Who.Anonymous ? null : fixture.CookiesFor(who));
            var result = await client.JoinAsTherapistAsync(fixture.AppointmentId);
            Assert.False(result.Accepted);
            Assert.Equal(reason, result.Reason);
            foreach (var (name, control) in Controls)
            {
                await AssertRefusedAsync(() => control(client, patientId), $"{who}: {name}");
            }

            foreach (var (name, own) in OwnMedia)
            {
                await AssertRefusedAsync(() => own(client), $"{who}: {name}");
            }
        }

        // Nothing they tried took effect: the patient still waits, and the listed therapist can admit.
        var therapist = await server.ConnectAsync(fixture.CookiesFor(Who.Therapist));
        var joined = await therapist.JoinAsTherapistAsync(fixture.AppointmentId);
        Assert.True(joined.Accepted, joined.Reason);
        Assert.Contains(joined.WaitingRoom!.Waiting, w => w.ParticipantId == patientId);
        Assert.DoesNotContain(patient.All<ParticipantStateNotice>(HubClient.StateChanged), n => n.State is ParticipantStates.Admitted or ParticipantStates.Denied or ParticipantStates.SessionEnded);
        Assert.True(await therapist.AdmitAsync(patientId));
        await patient.WaitForStateAsync(ParticipantStates.Admitted);
        await server.DisposeClientsAsync();
    }

    [Fact]
    public async Task Deactivating_an_account_signs_it_out_everywhere_and_closes_its_session_connections()
    {
        var server = fixture.Server;
        var email = $"dana.{Guid.NewGuid():N}@clinic.example";
        var dana = await fixture.AddStaffAsync("Dr. Dana Voss", email, "therapist");
        var appointment = await server.Integrator.PostAsJsonAsync("api/v1/appointments", new
        {
            patientId = fixture.OtherPatientId,
            therapistIds = new[] { dana },
            start = server.Time.GetUtcNow().AddMinutes(5),
            durationMinutes = 50,
        });
        var appointmentId = (await appointment.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var cookies = await server.SignInAsync(email, RightsFixture.Password);
        var hub = await server.ConnectAsync(cookies);
        Assert.True((await hub.JoinAsTherapistAsync(appointmentId)).Accepted);

        // A role change applies to the next request, without signing in again.
        using var admin = fixture.ClientFor(Who.Admin);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"api/v1/staff/{dana}", new { role = "scheduler" })).StatusCode);
        using var danaClient = server.NewClient(cookies);
        Assert.Equal("scheduler", (await danaClient.GetFromJsonAsync<JsonObject>("api/v1/auth/me"))!["role"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, (await danaClient.PostAsync($"api/v1/appointments/{appointmentId}/join", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"api/v1/staff/{dana}", new { role = "therapist" })).StatusCode);

        var closed = new TaskCompletionSource();
        hub.Connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        var deactivated = await admin.PutAsJsonAsync($"api/v1/staff/{dana}", new { active = false });
        Assert.False((await deactivated.Content.ReadFromJsonAsync<JsonObject>())!["active"]!.GetValue<bool>());
        await closed.Task.WaitAsync(HubServer.Timeout);
        Assert.Equal(HubConnectionState.Disconnected, hub.Connection.State);
        Assert.Equal(HttpStatusCode.Unauthorized, (await danaClient.GetAsync("api/v1/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.NewClient(null).PostAsJsonAsync("api/v1/auth/login", new { email, password = RightsFixture.Password })).StatusCode);
        var again = await server.ConnectAsync(cookies);
        Assert.Equal("unauthorized", (await again.JoinAsTherapistAsync(appointmentId)).Reason);

        // The clinic keeps at least one active admin.
        var last = await admin.PutAsJsonAsync($"api/v1/staff/{fixture.IdOf(Who.Admin)}", new { active = false });
        Assert.Equal(HttpStatusCode.BadRequest, last.StatusCode);
        await server.DisposeClientsAsync();
    }

    private static async Task AssertRefusedAsync(Func<Task> call, string what)
    {
        var refused = await Record.ExceptionAsync(call);
        Assert.True(refused is HubException, $"{what} was not refused ({refused?.GetType().Name ?? "it succeeded"})");
    }
}
