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
    private TeletherapyServer? _server;
    private HttpClient? _api;
    private CookieContainer? _therapistCookies;
    private Guid _therapistId;
    private Uri? _baseUrl;
    private OutboxJoinLinks? _outbox;

    public string Name => "teletherapy";

    public ProcessMonitor? Relay { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string apiKey;
        string outbox;
        if (options.Server is { } server)
        {
            _baseUrl = server;
            apiKey = options.ApiKey!;
            outbox = options.Outbox
                ?? throw new ArgumentException("With --server, give --outbox DIR (the server's $TELETHERAPY_DATA/outbox): join links reach patients only by email.");
        }
        else
        {
            _server = await TeletherapyServer.StartAsync(options.ServerDll ?? DefaultServerDll(), cancellationToken).ConfigureAwait(false);
            Relay = new ProcessMonitor(_server.Pid);
            _baseUrl = _server.BaseUrl;
            apiKey = _server.ApiKey;
            outbox = _server.OutboxPath;
        }

        _outbox = new OutboxJoinLinks(outbox);
        _api = new HttpClient { BaseAddress = _baseUrl, Timeout = StepTimeout };
        _api.DefaultRequestHeaders.Add("X-Api-Key", apiKey);

        using (var clinic = await _api.GetAsync(new Uri("/api/v1/clinic", UriKind.Relative), cancellationToken).ConfigureAwait(false))
        {
            if (clinic.StatusCode == HttpStatusCode.NotFound)
            {
                await PostAsync<JsonElement>(HttpMethod.Put, "/api/v1/clinic", new { name = "Load test clinic", timeZone = "UTC", remindersEnabled = false }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                clinic.EnsureSuccessStatusCode();
            }
        }

        var email = $"therapist-{_run}@loadtest.example.org";
        var password = "Load-" + Guid.NewGuid().ToString("N") + "-Aa1!";
        var staff = await PostAsync<CreatedId>(HttpMethod.Post, "/api/v1/staff", new { name = "Load Therapist", email, password }, cancellationToken).ConfigureAwait(false);
        _therapistId = staff.Id;

        _therapistCookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = _therapistCookies };
        using var login = new HttpClient(handler, disposeHandler: false) { BaseAddress = _baseUrl, Timeout = StepTimeout };
        using var response = await login.PostAsJsonAsync(new Uri("/api/v1/auth/login", UriKind.Relative), new { email, password }, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "the therapist's sign-in", cancellationToken).ConfigureAwait(false);
    }

    public async Task SetUpSessionAsync(LoadSession session, Pacer pacer, CancellationToken cancellationToken)
    {
        var state = new HubSession();
        session.TargetState = state;

        // The appointment, through the REST API as an integrator would make it.
        var patientEmail = $"patient-{_run}-{session.Index}@loadtest.example.org";
        var patient = await PostAsync<CreatedPatient>(HttpMethod.Post, "/api/v1/patients", new
        {
            name = $"Load Patient {session.Index}",
            contacts = new[] { new { name = $"Load Patient {session.Index}", email = patientEmail, phone = (string?)null, isPrimary = true, emailReminders = false, smsReminders = false } },
        }, cancellationToken).ConfigureAwait(false);
        var appointment = await PostAsync<CreatedAppointment>(HttpMethod.Post, "/api/v1/appointments", new
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
        state.Therapist = await ConnectHubAsync(_therapistCookies, cancellationToken).ConfigureAwait(false);
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
        state.Patient = await ConnectHubAsync(null, cancellationToken).ConfigureAwait(false);
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

    public async Task<long?> ReadForwardedCounterAsync(CancellationToken cancellationToken)
    {
        try
        {
            var text = await _api!.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            double total = 0;
            var found = false;
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith("teletherapy_relay_packets_forwarded_total", StringComparison.Ordinal))
                {
                    var value = line[(line.LastIndexOf(' ') + 1)..];
                    if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                    {
                        total += v;
                        found = true;
                    }
                }
            }

            return found ? (long)total : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _api?.Dispose();
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

    private async Task<HubConnection> ConnectHubAsync(CookieContainer? cookies, CancellationToken cancellationToken)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(_baseUrl!, "/hubs/session"), o =>
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

    private async Task<T> PostAsync<T>(HttpMethod method, string path, object body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body, options: Json) };
        using var response = await _api!.SendAsync(request, cancellationToken).ConfigureAwait(false);
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
