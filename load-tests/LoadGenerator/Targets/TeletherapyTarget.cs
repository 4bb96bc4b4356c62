using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Teletherapy.LoadTests.Targets;

/// <summary>
/// Our server: the shared things (clinic, one therapist) once through the REST API with the API key; per session a
/// patient with one contact per participant after the therapist and an appointment starting now, each contact's join
/// link from the outbox, and the real waiting-room flow over the session hub (therapist joins, each contact knocks
/// with its token, therapist admits each), then publish and subscribe through the hub.
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

    /// <summary>The first server's base URL (its /healthz and /metrics), once started.</summary>
    public Uri? FirstServer => _nodes.Count > 0 ? _nodes[0].BaseUrl : null;

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
        var state = new HubSession(session.Contacts.Count);
        session.TargetState = state;

        // Round robin over the nodes, each contact one node further than the one before it (the first one further
        // than the therapist): with several nodes a session's hubs are on different nodes, so at least one of them
        // reaches the room's home through the cluster.
        var therapistNode = _nodes[session.Index % _nodes.Count];

        // The appointment, through the REST API as an integrator would make it. The first contact is the primary one;
        // the others have email reminders on, so each also gets the scheduled-appointment email with its own link (R6).
        var emails = session.Contacts.Select((_, k) => $"contact-{_run}-{session.Index}-{k}@loadtest.example.org").ToList();
        var patient = await PostAsync<CreatedPatient>(therapistNode.Api, HttpMethod.Post, "/api/v1/patients", new
        {
            name = $"Load Patient {session.Index}",
            contacts = emails.Select((email, k) => new
            {
                name = k == 0 ? $"Load Patient {session.Index}" : $"Load Contact {session.Index}.{k}",
                email,
                phone = (string?)null,
                isPrimary = k == 0,
                emailReminders = k > 0,
                smsReminders = false,
            }).ToArray(),
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
        var tokens = await Task.WhenAll(emails.Select(e => _outbox!.WaitForTokenAsync(e, StepTimeout, cancellationToken))).ConfigureAwait(false);

        // The therapist joins and publishes.
        state.Therapist = await ConnectHubAsync(therapistNode.BaseUrl, therapistNode.TherapistCookies, cancellationToken).ConfigureAwait(false);
        var knocks = Channel.CreateUnbounded<string>();
        state.Therapist.On<JsonElement>("Knock", p => knocks.Writer.TryWrite(p.GetProperty("participantId").GetString()!));
        HookSubscribeOffers(state.Therapist, session.Therapist, cancellationToken);
        var therapistJoin = await state.Therapist.InvokeAsync<JoinReply>("JoinAsTherapist", appointmentId, cancellationToken).ConfigureAwait(false);
        if (!therapistJoin.Accepted)
        {
            throw new InvalidOperationException($"The therapist's join was refused: {therapistJoin.Reason}");
        }

        await session.Therapist.PublishAsync(offer => state.Therapist.InvokeAsync<string>("Publish", offer, cancellationToken), setupActive: false, pacer, cancellationToken).ConfigureAwait(false);

        // The contacts join with the tokens from their emails (knock), publish and subscribe while waiting, as the web
        // client does, and so does the therapist: the relay gates media, so admission only opens the gate and the
        // first packets follow at once.
        var joins = session.Contacts.Select((_, k) => JoinContactAsync(session, state, k, tokens[k], pacer, cancellationToken)).ToList();
        await Task.WhenAll([SubscribeAsync(state.Therapist, session.Therapist, cancellationToken), .. joins]).ConfigureAwait(false);
        var admissions = await Task.WhenAll(joins).ConfigureAwait(false);

        // The therapist admits each knock.
        var admitted = new HashSet<string>(StringComparer.Ordinal);
        while (admitted.Count < session.Contacts.Count)
        {
            var waitingId = await knocks.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
            if (!admitted.Add(waitingId))
            {
                continue;
            }

            if (admitted.Count == 1)
            {
                session.AdmitTimestamp = Stopwatch.GetTimestamp();
            }

            if (!await state.Therapist.InvokeAsync<bool>("Admit", waitingId, cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("The therapist's Admit was refused.");
            }
        }

        await Task.WhenAll(admissions).WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
        await session.WaitUntilEveryoneReceivesEveryoneAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
        session.RecordAdmitToFirstPacket();
    }

    public Task TearDownSessionAsync(LoadSession session, CancellationToken cancellationToken) =>
        LeaveAsync(session, end: false, cancellationToken);

    public Task EndSessionAsync(LoadSession session, CancellationToken cancellationToken) =>
        LeaveAsync(session, end: true, cancellationToken);

    /// <summary>
    /// The contacts leave, then the therapist leaves or (with <paramref name="end"/>) ends the session with the hub's
    /// End session; every hub connection is closed. A refused or failed end throws once all are closed.
    /// </summary>
    private static async Task LeaveAsync(LoadSession session, bool end, CancellationToken cancellationToken)
    {
        if (session.TargetState is not HubSession state)
        {
            return;
        }

        string? failure = null;
        foreach (var hub in state.Contacts.Reverse().Append(state.Therapist))
        {
            if (hub is null)
            {
                continue;
            }

            var ending = end && hub == state.Therapist;
            try
            {
                if (hub.State == HubConnectionState.Connected)
                {
                    if (ending)
                    {
                        if (!await hub.InvokeAsync<bool>("EndSession", cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false))
                        {
                            failure = "the therapist's End session was refused";
                        }
                    }
                    else
                    {
                        await hub.InvokeAsync("Leave", cancellationToken).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
                    }
                }
                else if (ending)
                {
                    failure = "the therapist's hub connection was closed before End session";
                }
            }
            catch (Exception exception) when (exception is HubException or TimeoutException or InvalidOperationException or IOException)
            {
                failure ??= ending ? "End session failed: " + exception.Message : null;
            }

            await hub.DisposeAsync().ConfigureAwait(false);
        }

        if (failure is not null)
        {
            throw new InvalidOperationException(failure);
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

    /// <summary>
    /// Contact <paramref name="k"/> joins with its token (it knocks), publishes and subscribes; returns the task that
    /// completes when the therapist has admitted it.
    /// </summary>
    private async Task<Task> JoinContactAsync(LoadSession session, HubSession state, int k, string token, Pacer pacer, CancellationToken cancellationToken)
    {
        var participant = session.Contacts[k];
        var node = _nodes[(session.Index + 1 + k) % _nodes.Count];
        var hub = await ConnectHubAsync(node.BaseUrl, null, cancellationToken).ConfigureAwait(false);
        state.Contacts[k] = hub;
        var admitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.On<JsonElement>("StateChanged", n =>
        {
            if (n.GetProperty("state").GetString() == "admitted")
            {
                admitted.TrySetResult();
            }
        });
        HookSubscribeOffers(hub, participant, cancellationToken);
        var joinStarted = Stopwatch.GetTimestamp();
        var join = await hub.InvokeAsync<JoinReply>("JoinWithToken", token, cancellationToken).ConfigureAwait(false);
        session.RecordJoin(Stopwatch.GetElapsedTime(joinStarted).TotalMilliseconds);
        if (!join.Accepted)
        {
            throw new InvalidOperationException($"{participant.Name}'s join was refused: {join.Reason}");
        }

        await participant.PublishAsync(offer => hub.InvokeAsync<string>("Publish", offer, cancellationToken), setupActive: false, pacer, cancellationToken).ConfigureAwait(false);
        await SubscribeAsync(hub, participant, cancellationToken).ConfigureAwait(false);
        return admitted.Task;
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
        SlowHubTimer(hub);
        await hub.StartAsync(cancellationToken).ConfigureAwait(false);
        return hub;
    }

    /// <summary>
    /// How often a hub connection's own timer wakes to send a keep-alive that is due (every 15 s, the server allowing
    /// 30 s) and to check the server's silence: the client library wakes each connection every second, a wake-up of
    /// the tool's timer and pool threads for each of its hundreds of connections every second (the tool's largest cost
    /// after the media itself). Every 5 s a keep-alive leaves 15–20 s after the last message.
    /// </summary>
    internal static readonly TimeSpan HubTickRate = TimeSpan.FromSeconds(5);

    /// <summary>Looked up once, not for each of the tool's hundreds of connections.</summary>
    private static readonly PropertyInfo? HubTickRateProperty =
        typeof(HubConnection).GetProperty("TickRate", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);

    /// <summary>
    /// <c>HubConnection.TickRate</c> is the library's own, not public (its tests set it), so it is set by name; a version
    /// without it keeps its one second (false), which only costs the tool CPU.
    /// </summary>
    internal static bool SlowHubTimer(HubConnection hub)
    {
        if (HubTickRateProperty is not { } property || property.PropertyType != typeof(TimeSpan) || !property.CanWrite)
        {
            return false;
        }

        property.SetValue(hub, HubTickRate);
        return true;
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

    private sealed class HubSession(int contacts)
    {
        public HubConnection? Therapist { get; set; }

        /// <summary>Each contact's hub connection, in the order of the session's contacts (null until connected).</summary>
        public HubConnection?[] Contacts { get; } = new HubConnection?[contacts];
    }

    private sealed record CreatedId(Guid Id);

    private sealed record CreatedPatient(Guid Id);

    private sealed record CreatedOccurrence(Guid Id);

    private sealed record CreatedAppointment(Guid Id, IReadOnlyList<CreatedOccurrence>? Occurrences);

    private sealed record JoinReply(bool Accepted, string? Reason, string? ParticipantId, string? State);
}
