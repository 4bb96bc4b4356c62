using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Teletherapy.Signaling.Sessions;
using Teletherapy.Signaling.Tests.Hosting;
using Xunit.Abstractions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// PostgreSQL goes away under a running server and comes back (README: Reliability, Outages). The server has a cluster
/// of its own that the test really stops and starts. The outage lasts <c>TELETHERAPY_OUTAGE_SECONDS</c> (default 5:
/// nothing the server does depends on its length; the README's figures come from a run with 60).
/// </summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output)
{
    [Fact(Timeout = 300_000)]
    public async Task While_PostgreSQL_is_stopped_the_session_goes_on_and_can_be_ended_joins_are_refused_503_and_after_it_is_back_joins_succeed_and_no_email_audit_event_or_end_is_lost()
    {
        var outage = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("TELETHERAPY_OUTAGE_SECONDS"), out var seconds) ? seconds : 5);
        await using var postgres = await ThrowawayPostgres.StartAsync();
        var server = new HubServer();
        server.Settings["ConnectionStrings:Postgres"] = postgres.ConnectionString;
        var clinic = new ClinicFixture(server);
        await clinic.InitializeAsync();
        try
        {
            // A session in progress: Ada and the patient in it, the caregiver waiting to be let in.
            var s = await SessionScenario.CreateAsync(clinic);
            var ada = await s.JoinTherapistAsync(s.Ada);
            var (patient, p) = await s.JoinContactAsync(s.PatientToken);
            Assert.True(await ada.AdmitAsync(p.ParticipantId!));
            await patient.WaitForStateAsync(ParticipantStates.Admitted);
            var (caregiver, c) = await s.JoinContactAsync(s.CaregiverToken);
            var ben = await s.ConnectStaffAsync(s.Ben); // his page is open; his join comes during the outage

            // A second session in progress, which Ada ends during the outage.
            var second = await SessionScenario.CreateAsync(clinic);
            var adaInE = await second.JoinTherapistAsync(second.Ada);
            var (patientOfE, pe) = await second.JoinContactAsync(second.PatientToken);
            Assert.True(await adaInE.AdmitAsync(pe.ParticipantId!));
            await patientOfE.WaitForStateAsync(ParticipantStates.Admitted);

            // Emails queued just before the outage: the request returns, the sender may not have delivered them yet.
            var queuedBefore = await CreateAppointmentAsync(server, s);
            Assert.Equal(HttpStatusCode.Created, queuedBefore.StatusCode);

            var stopping = Stopwatch.StartNew();
            await postgres.StopAsync();
            var stoppedAt = Stopwatch.StartNew();
            output.WriteLine($"pg_ctl stop took {stopping.ElapsedMilliseconds} ms");

            // Requests that need the database: 503 with a problem that says so and when to try again, never a 500.
            using var anonymous = server.NewClient(null);
            var health = await anonymous.GetAsync("healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal("Unhealthy", (await health.Content.ReadFromJsonAsync<JsonObject>())!["checks"]!["database"]!["status"]!.GetValue<string>());
            var link = await anonymous.GetAsync($"api/v1/join/{s.PatientToken}");
            await AssertUnavailableAsync(link);
            await AssertUnavailableAsync(await CreateAppointmentAsync(server, s));

            // New joins through the hub are refused 'unavailable' (the page offers to try again), not a hub error.
            Assert.Equal(DatabaseOutageReason, (await ben.JoinAsTherapistAsync(s.AppointmentId)).Reason);
            var secondTab = await server.ConnectAsync();
            var refused = await secondTab.JoinWithTokenAsync(s.PatientToken);
            Assert.False(refused.Accepted);
            Assert.Equal(DatabaseOutageReason, refused.Reason);

            // The session goes on: the therapist lets the caregiver in, media is negotiated, everyone hears of it.
            var mark = patient.Mark;
            Assert.True(await ada.AdmitAsync(c.ParticipantId!));
            await caregiver.WaitForStateAsync(ParticipantStates.Admitted);
            await patient.WaitAsync<PeerInfo>(HubClient.PeerJoined, j => j.ParticipantId == c.ParticipantId, mark);
            Assert.StartsWith("v=0", await caregiver.PublishAsync(Sdp.ChromeOffer), StringComparison.Ordinal);
            Assert.StartsWith("v=0", await patient.PublishAsync(Sdp.ChromeOffer), StringComparison.Ordinal);
            Assert.StartsWith("v=0", await ada.RequestSubscribeOfferAsync(), StringComparison.Ordinal);

            var rest = outage - stoppedAt.Elapsed;
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest);
            }

            Assert.StartsWith("v=0", await patient.RequestSubscribeOfferAsync(), StringComparison.Ordinal);

            // End session works without the database: everyone in it is told, the end is kept until it is back.
            var endMark = patientOfE.Mark;
            Assert.True(await adaInE.EndSessionAsync());
            await patientOfE.WaitForStateAsync(ParticipantStates.SessionEnded, endMark);
            Assert.Equal(1, CountOf(await server.MetricsAsync(), "teletherapy_session_ends_kept", labelled: false));

            var refusedDuring = CountOf(await server.MetricsAsync(), "teletherapy_database_unavailable_total");
            await postgres.StartAgainAsync();
            var down = stoppedAt.Elapsed;

            // Back: the very first request and join succeed (no pooled connection to the old server is reused).
            var backAt = Stopwatch.StartNew();
            var again = await anonymous.GetAsync($"api/v1/join/{s.PatientToken}");
            var firstAnswer = backAt.Elapsed;
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.True((await ben.JoinAsTherapistAsync(s.AppointmentId)).Accepted);
            // The ended session stays ended: its links are refused 'ended' at once (the first join check writes the
            // kept end, before the backlog's timer would), and the appointment and its audit log say so.
            var endedLink = await (await server.ConnectAsync()).JoinWithTokenAsync(second.PatientToken);
            Assert.False(endedLink.Accepted);
            Assert.Equal("ended", endedLink.Reason);
            Assert.Equal(0, CountOf(await server.MetricsAsync(), "teletherapy_session_ends_kept", labelled: false));
            await using (var admin = new NpgsqlConnection(postgres.ConnectionString))
            {
                Assert.Equal("ended", await admin.ExecuteScalarAsync<string>("SELECT status FROM appointments WHERE id = @id", new { id = second.AppointmentId }));
            }

            Assert.Single(await server.AuditAsync(second.AppointmentId), x => x!["kind"]!.GetValue<string>() == "ended");
            var queuedAfter = await CreateAppointmentAsync(server, s);
            Assert.Equal(HttpStatusCode.Created, queuedAfter.StatusCode);

            // What happened in the session meanwhile is in the audit log, at the time it happened.
            var audit = await server.AuditAsync(s.AppointmentId);
            Assert.Contains(audit, e => e!["kind"]!.GetValue<string>() == "admitted" && e["subjectId"]?.GetValue<Guid>() == s.CaregiverContactId);

            // Every email queued before and after the outage is delivered, once (a file per message id).
            // A message the sender had claimed when the database went away is taken again once its claim lapses
            // (SchedulingOptions.ClaimLease, 2 minutes): sent late, not lost.
            server.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(5));
            var rows = await WaitForOutboxAsync(postgres, server.Time);
            Assert.True(rows.Count >= 6, $"{rows.Count} outbox messages");
            var files = Directory.GetFiles(Path.Combine(server.DataPath, "outbox"), "*.eml").Select(Path.GetFileNameWithoutExtension).ToHashSet();
            Assert.All(rows, r => Assert.Contains(r.ToString("D"), files));

            output.WriteLine($"PostgreSQL stopped for {down.TotalSeconds:F1} s; requests and joins answered 'unavailable' meanwhile: {refusedDuring}; "
                + $"first join-link lookup after the restart answered 200 in {firstAnswer.TotalMilliseconds:F0} ms; outbox messages delivered: {rows.Count}, lost: 0.");
        }
        finally
        {
            await clinic.DisposeAsync();
            NpgsqlConnection.ClearAllPools();
        }
    }

    private const string DatabaseOutageReason = "unavailable";

    private static async Task AssertUnavailableAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(DatabaseOutageReason, problem["reason"]!.GetValue<string>());
        Assert.Equal(503, problem["status"]!.GetValue<int>());
        Assert.Contains("try again", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> CreateAppointmentAsync(HubServer server, SessionScenario s) =>
        server.Integrator.PostAsJsonAsync("api/v1/appointments", new
        {
            patientId = s.PatientId,
            therapistIds = new[] { s.Ada.Id },
            start = server.Time.GetUtcNow().AddDays(2),
            durationMinutes = 50,
            teletherapy = true,
        });

    private static double CountOf(string metrics, string name, bool labelled = true) =>
        metrics.Split('\n').Where(l => l.StartsWith(labelled ? name + "{" : name + " ", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// The outbox's message ids once none is waiting any more. The server's clock moves on five seconds each look: a
    /// sender that was in the middle of a pass when the test advanced the clock waits for its next poll on that clock,
    /// and only a clock that moves brings it (and the lapse of a claim made after the advance) round again.
    /// </summary>
    private static async Task<List<Guid>> WaitForOutboxAsync(ThrowawayPostgres postgres, FakeTimeProvider time)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            await using (var admin = new NpgsqlConnection(postgres.ConnectionString))
            {
                var waiting = await admin.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outbox_messages WHERE sent_at IS NULL AND discarded_at IS NULL");
                if (waiting == 0)
                {
                    return (await admin.QueryAsync<Guid>("SELECT id FROM outbox_messages WHERE channel = 'email' AND discarded_at IS NULL")).ToList();
                }
            }

            if (DateTime.UtcNow >= deadline)
            {
                await using var admin = new NpgsqlConnection(postgres.ConnectionString);
                var rows = await admin.QueryAsync<(string Channel, string Kind, DateTime NotBefore, int Attempts, string? LastError)>(
                    "SELECT channel, kind, not_before, attempts, last_error FROM outbox_messages WHERE sent_at IS NULL AND discarded_at IS NULL");
                Assert.Fail("Outbox messages still waiting 30 s after PostgreSQL came back: " + string.Join("; ", rows));
            }

            await Task.Delay(200);
            time.Advance(TimeSpan.FromSeconds(5));
        }
    }
}
