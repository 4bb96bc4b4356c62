using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Teletherapy.LoadTests.Targets;

/// <summary>
/// Our server: the shared things (clinic, one therapist) once through the REST API with the API key; per session a
/// patient with a primary contact and an appointment starting now, the join link from the outbox, and the real
/// waiting-room flow over the session hub (therapist joins, patient knocks with the token, therapist admits), then
/// publish and subscribe through the hub.
/// </summary>
internal sealed class TeletherapyTarget(LoadOptions options) : ILoadTarget
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly string _run = DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
    private readonly List<ServerNode> _nodes = [];
    private TeletherapyServer? _server;
    private Guid _therapistId;
    private OutboxJoinLinks? _outbox;

    public string Name => "teletherapy";

    public ProcessMonitor? Relay { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string apiKey;
        IReadOnlyList<Uri> servers;
        IReadOnlyList<string> outboxes;
        if (options.Servers.Count > 0)
        {
            servers = options.Servers;
            apiKey = options.ApiKey!;
            outboxes = options.Outboxes.Count > 0
                ? options.Outboxes
                : throw new ArgumentException("With --server, give --outbox DIR (the server's $TELETHERAPY_DATA/outbox): join links reach patients only by email.");
        }
        else
        {
            _server = await TeletherapyServer.StartAsync(options.ServerDll ?? DefaultServerDll(), cancellationToken).ConfigureAwait(false);
            Relay = new ProcessMonitor(_server.Pid);
            servers = [_server.BaseUrl];
            apiKey = _server.ApiKey;
            outboxes = [_server.OutboxPath];
        }

        _outbox = new OutboxJoinLinks(outboxes);
        foreach (var server in servers)
        {
            var api = new HttpClient { BaseAddress = server, Timeout = StepTimeout };
            api.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
            _nodes.Add(new ServerNode(server, api));
        }

        // The clinic and the therapist once, on the first node: the nodes share the database.
        var first = _nodes[0].Api;
        using (var clinic = await first.GetAsync(new Uri("/api/v1/clinic", UriKind.Relative), cancellationToken).ConfigureAwait(false))
        {
            if (clinic.StatusCode == HttpStatusCode.NotFound)
            {
                await PostAsync<JsonElement>(first, HttpMethod.Put, "/api/v1/clinic", new { name = "Load test clinic", timeZone = "UTC", remindersEnabled = false }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                clinic.EnsureSuccessStatusCode();
            }
        }

        var email = $"therapist-{_run}@loadtest.example.org";
        var password = "Load-" + Guid.NewGuid().ToString("N") + "-Aa1!";
        var staff = await PostAsync<CreatedId>(first, HttpMethod.Post, "/api/v1/staff", new { name = "Load Therapist", email, password }, cancellationToken).ConfigureAwait(false);
        _therapistId = staff.Id;

        // The therapist signs in on every node, so its hub connections there carry that node's own cookie
        // (nodes on different hosts share no cookie jar).
        foreach (var node in _nodes)
        {
            using var handler = new HttpClientHandler { CookieContainer = node.TherapistCookies };
            using var login = new HttpClient(handler, disposeHandler: false) { BaseAddress = node.BaseUrl, Timeout = StepTimeout };
            using var response = await login.PostAsJsonAsync(new Uri("/api/v1/auth/login", UriKind.Relative), new { email, password }, cancellationToken).ConfigureAwait(false);
            await EnsureSuccessAsync(response, $"the therapist's sign-in on {node.BaseUrl}", cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task SetUpSessionAsync(LoadSession session, Pacer pacer, CancellationToken cancellationToken)
    {
        var state = new HubSession();
        session.TargetState = state;

        // Round robin over the nodes, the patient one node further than the therapist: with several nodes a session's
        // two hubs are on different nodes, so at least one of them reaches the room's home through the cluster.
        var therapistNode = _nodes[session.Index % _nodes.Count];
        var patientNode = _nodes[(session.Index + 1) % _nodes.Count];

        // The appointment, through the REST API as an integrator would make it.
        var patientEmail = $"patient-{_run}-{session.Index}@loadtest.example.org";
        var patient = await PostAsync<CreatedPatient>(therapistNode.Api, HttpMethod.Post, "/api/v1/patients", new
        {
            name = $"Load Patient {session.Index}",
            contacts = new[] { new { name = $"Load Patient {session.Index}", email = patientEmail, phone = (string?)null, isPrimary = true, emailReminders = false, smsReminders = false } },
        }, cancellationToken).ConfigureAwait(false);
        var appointment = await PostAsync<CreatedAppointment>(therapistNode.Api, HttpMethod.Post, "/api/v1/appointments", new
        {
            patientId = patient.Id,
            therapistIds = new[] { _therapistId },
            start = DateTimeOffset.UtcNow.AddMinutes(1),
            durationMinutes = 120,
            teletherapy = true,
        }, cancellationToken).ConfigureAwait(false);
        var appointmentId = appointment.Occurrences is { Count: > 0 } occurrences ? occurrences[0].Id : appointment.Id;
        var token = await _outbox!.WaitForTokenAsync(patientEmail, StepTimeout, cancellationToken).ConfigureAwait(false);

        // The therapist joins and publishes.
        state.Therapist = await ConnectHubAsync(therapistNode.BaseUrl, therapistNode.TherapistCookies, cancellationToken).ConfigureAwait(false);
        var knock = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        state.Therapist.On<JsonElement>("Knock", p => knock.TrySetResult(p.GetProperty("participantId").GetString()!));
        HookSubscribeOffers(state.Therapist, session.Therapist, cancellationToken);
        var therapistJoin = await state.Therapist.InvokeAsync<JoinReply>("JoinAsTherapist", appointmentId, cancellationToken).ConfigureAwait(false);
        if (!therapistJoin.Accepted)
        {
            throw new InvalidOperationException($"The therapist's join was refused: {therapistJoin.Reason}");
        }

        await session.Therapist.PublishAsync(offer => state.Therapist.InvokeAsync<string>("Publish", offer, cancellationToken), setupActive: false, pacer, cancellationToken).ConfigureAwait(false);

        // The patient joins with the token from the email (knocks), and publishes while waiting.
        state.Patient = await ConnectHubAsync(patientNode.BaseUrl, null, cancellationToken).ConfigureAwait(false);
        var admitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        state.Patient.On<JsonElement>("StateChanged", n =>
        {
            if (n.GetProperty("state").GetString() == "admitted")
            {
                admitted.TrySetResult();
            }
        });
        HookSubscribeOffers(state.Patient, session.Patient, cancellationToken);
        var joinStarted = Stopwatch.GetTimestamp();
        var patientJoin = await state.Patient.InvokeAsync<JoinReply>("JoinWithToken", token, cancellationToken).ConfigureAwait(false);
        session.JoinMs = Stopwatch.GetElapsedTime(joinStarted).TotalMilliseconds;
        if (!patientJoin.Accepted)
        {
            throw new InvalidOperationException($"The patient's join was refused: {patientJoin.Reason}");
        }

        await session.Patient.PublishAsync(offer => state.Patient.InvokeAsync<string>("Publish", offer, cancellationToken), setupActive: false, pacer, cancellationToken).ConfigureAwait(false);

        // Both subscribe while the patient waits, as the web client does: the relay gates media, so admission
        // only opens the gate and the first packet follows at once.
        await Task.WhenAll(
            SubscribeAsync(state.Therapist, session.Therapist, cancellationToken),
            SubscribeAsync(state.Patient, session.Patient, cancellationToken)).ConfigureAwait(false);

        // The therapist admits on the knock.
        var waitingId = await knock.Task.WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
        session.AdmitTimestamp = Stopwatch.GetTimestamp();
        if (!await state.Therapist.InvokeAsync<bool>("Admit", waitingId, cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException("The therapist's Admit was refused.");
        }

        await admitted.Task.WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(session.Therapist.FirstPacket.Task, session.Patient.FirstPacket.Task).WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
        session.AdmitToFirstPacketMs = (session.Patient.FirstPacketTimestamp - session.AdmitTimestamp) * 1000.0 / Stopwatch.Frequency;
    }

    public async Task TearDownSessionAsync(LoadSession session, CancellationToken cancellationToken)
    {
        if (session.TargetState is not HubSession state)
        {
            return;
        }

        foreach (var hub in new[] { state.Patient, state.Therapist })
        {
            if (hub is null)
            {
                continue;
            }

            try
            {
                if (hub.State == HubConnectionState.Connected)
                {
                    await hub.InvokeAsync("Leave", cancellationToken).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception exception) when (exception is HubException or TimeoutException or InvalidOperationException or IOException)
            {
            }

            await hub.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<NodeReading>> ReadNodesAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(_nodes.Select(n => NodeMetrics.ReadAsync(n.Api, n.BaseUrl, cancellationToken))).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            node.Api.Dispose();
        }

        _outbox?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The Release build run.sh makes, relative to the repository.</summary>
    private static string DefaultServerDll()
    {
        var root = AppContext.BaseDirectory;
        for (var dir = new DirectoryInfo(root); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Signaling", "bin", "Release", "net10.0", "Teletherapy.Signaling.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine("src", "Signaling", "bin", "Release", "net10.0", "Teletherapy.Signaling.dll");
    }

    private static async Task<HubConnection> ConnectHubAsync(Uri server, CookieContainer? cookies, CancellationToken cancellationToken)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(server, "/hubs/session"), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                if (cookies is not null)
                {
                    o.Cookies = cookies;
                }
            })
            .Build();
        hub.ServerTimeout = TimeSpan.FromSeconds(120);
        await hub.StartAsync(cancellationToken).ConfigureAwait(false);
        return hub;
    }

    /// <summary>
    /// Offers the relay pushes (tracks came or went) are answered off the hub's receive loop, one at a time per
    /// participant, with the explicit <see cref="SubscribeAsync"/>.
    /// </summary>
    private static void HookSubscribeOffers(HubConnection hub, MediaParticipant participant, CancellationToken cancellationToken)
    {
        hub.On<string>("SubscribeOffer", offer =>
        {
            _ = Task.Run(() => AnswerAsync(hub, participant, offer, cancellationToken), cancellationToken);
        });
    }

    private static async Task SubscribeAsync(HubConnection hub, MediaParticipant participant, CancellationToken cancellationToken)
    {
        var offer = await hub.InvokeAsync<string>("RequestSubscribeOffer", cancellationToken).ConfigureAwait(false);
        await AnswerAsync(hub, participant, offer, cancellationToken).ConfigureAwait(false);
    }

    private static async Task AnswerAsync(HubConnection hub, MediaParticipant participant, string offer, CancellationToken cancellationToken)
    {
        var gate = SubscribeGates.GetValue(participant, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var answer = participant.AnswerSubscribeOffer(offer);
            try
            {
                await hub.InvokeAsync("SubscribeAnswer", answer, cancellationToken).ConfigureAwait(false);
            }
            catch (HubException)
            {
                // An answer to an offer a newer one replaced: the newer one is answered too.
                return;
            }

            await participant.EnsureSubscribeConnectedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<MediaParticipant, SemaphoreSlim> SubscribeGates = new();

    private static async Task<T> PostAsync<T>(HttpClient api, HttpMethod method, string path, object body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body, options: Json) };
        using var response = await api.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, $"{method} {path}", cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false))!;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"{what} failed: {(int)response.StatusCode} {body}");
        }
    }

    /// <summary>One server (cluster node): its API client with the key, and the therapist's cookie from signing in there.</summary>
    private sealed class ServerNode(Uri baseUrl, HttpClient api)
    {
        public Uri BaseUrl { get; } = baseUrl;

        public HttpClient Api { get; } = api;

        public CookieContainer TherapistCookies { get; } = new();
    }

    private sealed class HubSession
    {
        public HubConnection? Therapist { get; set; }

        public HubConnection? Patient { get; set; }
    }

    private sealed record CreatedId(Guid Id);

    private sealed record CreatedPatient(Guid Id);

    private sealed record CreatedOccurrence(Guid Id);

    private sealed record CreatedAppointment(Guid Id, IReadOnlyList<CreatedOccurrence>? Occurrences);

    private sealed record JoinReply(bool Accepted, string? Reason, string? ParticipantId, string? State);
}
