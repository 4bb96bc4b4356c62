using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Teletherapy.MediaRelay.Transport;
using Teletherapy.Signaling.Cluster;
using Teletherapy.Signaling.Sessions;
using Teletherapy.Signaling.Tests.Hosting;
using Teletherapy.Signaling.Tests.Sessions;

namespace Teletherapy.Signaling.Tests.Cluster;

/// <summary>
/// Two real nodes (Kestrel, media sockets, an Orleans silo each, on loopback) on one fresh PostgreSQL database and one
/// data folder (so the join emails of both are in one outbox folder), with a clinic, a therapist and an appointment
/// that opens now. The nodes' clocks are the system's: the cluster's membership runs on it.
/// </summary>
internal sealed class ClusterNodes : IAsyncDisposable
{
    private readonly HashSet<int> _stopped = [];

    private ClusterNodes(List<HubServer> nodes) => Nodes = nodes;

    public List<HubServer> Nodes { get; }

    public SessionScenario.Staff Ada { get; private set; } = null!;

    public Guid AppointmentId { get; private set; }

    public string PatientToken { get; private set; } = null!;

    /// <param name="configure">Called with each node's index and server before it starts (settings, test services).</param>
    public static async Task<ClusterNodes> StartAsync(int count = 2, Action<int, HubServer>? configure = null)
    {
        var (database, connectionString) = await TestDatabases.CreatePostgresAsync("tt_cluster_");
        var nodes = new List<HubServer>();
        string? dataPath = null;
        for (var i = 0; i < count; i++)
        {
            var node = new HubServer(realClock: true);
            dataPath ??= node.DataPath;
            node.Settings["Teletherapy:DataPath"] = dataPath;
            node.Settings["ConnectionStrings:Postgres"] = connectionString.ConnectionString;
            node.Settings["Cluster:Enabled"] = "true";
            node.Settings["Cluster:ClusterId"] = database;
            node.Settings["Cluster:NodePort"] = ExternalProcess.FreeTcpPort(IPAddress.Loopback).ToString(System.Globalization.CultureInfo.InvariantCulture);
            node.Settings["Cluster:NodeName"] = $"node-{i}";
            node.Settings["Cluster:FailureDetectionSeconds"] = "3";
            configure?.Invoke(i, node);
            node.Start();
            nodes.Add(node);
        }

        var cluster = new ClusterNodes(nodes);
        await cluster.SeedAsync();
        return cluster;
    }

    public HubServer this[int index] => Nodes[index];

    public IRoomGrain Room(int node) => Nodes[node].Services.GetRequiredService<IGrainFactory>().GetGrain<IRoomGrain>(AppointmentId);

    /// <summary>The index of the node that holds the appointment's room in its coordinator (asserting it is exactly one).</summary>
    public int HomeIndex(Guid? appointmentId = null)
    {
        var id = appointmentId ?? AppointmentId;
        var homes = Nodes.Select((n, i) => (i, Room: _stopped.Contains(i) ? null : n.Services.GetRequiredService<SessionCoordinator>().FindRoom(id))).Where(x => x.Room is not null).ToList();
        Assert.Single(homes);
        return homes[0].i;
    }

    public int UdpPort(int node) => Nodes[node].Services.GetRequiredService<MediaSockets>().UdpPort;

    public async Task<HubClient> TherapistOnAsync(int node, Guid? appointmentId = null)
    {
        var cookies = await Nodes[node].SignInAsync(Ada.Email, SessionScenario.Password);
        var client = await Nodes[node].ConnectAsync(cookies);
        var result = await client.JoinAsTherapistAsync(appointmentId ?? AppointmentId);
        Assert.True(result.Accepted, $"The therapist was refused on node {node}: {result.Reason}");
        return client;
    }

    public async Task<(HubClient Client, JoinResult Result)> PatientOnAsync(int node, string? deviceKey = null)
    {
        var client = await Nodes[node].ConnectAsync();
        var result = await client.JoinWithTokenAsync(PatientToken, deviceKey);
        Assert.True(result.Accepted, $"The patient was refused on node {node}: {result.Reason}");
        return (client, result);
    }

    /// <summary>Stops a node the way its host stops on SIGTERM (Kestrel, the relay and the silo shut down).</summary>
    public async Task StopAsync(int index)
    {
        _stopped.Add(index);
        await Nodes[index].DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = Nodes.Count - 1; i >= 0; i--)
        {
            if (_stopped.Add(i))
            {
                await Nodes[i].DisposeAsync();
            }
        }
    }

    private Guid _patientId;

    /// <summary>Another appointment of the patient with Ada that opens now (its join email goes out too).</summary>
    public async Task<Guid> NewAppointmentAsync()
    {
        var appointment = await Nodes[0].Integrator.PostAsJsonAsync("api/v1/appointments", new
        {
            patientId = _patientId,
            therapistIds = new[] { Ada.Id },
            start = DateTimeOffset.UtcNow.AddMinutes(5),
            durationMinutes = 50,
            teletherapy = true,
        });
        Assert.Equal(HttpStatusCode.Created, appointment.StatusCode);
        return (await appointment.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    private async Task SeedAsync()
    {
        var api = Nodes[0].Integrator;
        Assert.Equal(HttpStatusCode.OK, (await api.PutAsJsonAsync("api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = false })).StatusCode);
        var staff = await api.PostAsJsonAsync("api/v1/staff", new { name = "Dr. Ada Weber", email = "ada@clinic.example", password = SessionScenario.Password });
        Assert.Equal(HttpStatusCode.Created, staff.StatusCode);
        Ada = new SessionScenario.Staff((await staff.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>(), "Dr. Ada Weber", "ada@clinic.example");
        var patient = await api.PostAsJsonAsync("api/v1/patients", new
        {
            name = "Mia Keller",
            contacts = new object[] { new { name = "Mia Keller", email = "mia@example.org", isPrimary = true, emailReminders = false } },
        });
        Assert.Equal(HttpStatusCode.Created, patient.StatusCode);
        _patientId = (await patient.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        AppointmentId = await NewAppointmentAsync();
        PatientToken = (await SessionScenario.JoinTokensAsync(Nodes[0], "mia@example.org", 1))[0];
    }
}
