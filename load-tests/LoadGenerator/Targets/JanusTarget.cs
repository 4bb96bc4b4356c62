using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Teletherapy.LoadTests.Targets;

/// <summary>Janus is not installed.</summary>
internal sealed class JanusMissingException(string message) : Exception(message);

/// <summary>
/// The same media load through Janus's videoroom plugin over its HTTP API: one 1:1 room per session with a high
/// bitrate cap; each participant joins as a publisher and publishes audio and video, then subscribes to the other's
/// feed. Unless <c>--janus-url</c> is given, Debian's <c>janus</c> is started with a configuration of our own
/// (HTTP on 127.0.0.1, videoroom only, full ICE, candidates only on the veth <c>v0</c> that run.sh makes in its
/// network namespace), so its CPU and memory are measured from /proc exactly as our relay's are.
/// </summary>
internal sealed class JanusTarget(LoadOptions options) : ILoadTarget
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);
    private static readonly string[] Plugins = ["audiobridge", "duktape", "echotest", "lua", "nosip", "recordplay", "sip", "streaming", "textroom", "videocall", "voicemail"];
    private static readonly string[] LibraryFolders = ["/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/aarch64-linux-gnu/janus", "/usr/lib/janus"];
    private static readonly string[] Transports = ["mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets"];

    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _roomBase = Random.Shared.Next(100_000, 1_000_000_000);
    private Process? _janus;
    private string? _configFolder;
    private HttpClient? _http;
    private Uri? _sessionUrl;
    private Task? _poll;
    private long _transaction;

    public string Name => "janus";

    public ProcessMonitor? Relay { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Uri baseUrl;
        if (options.JanusUrl is { } given)
        {
            baseUrl = given;
        }
        else
        {
            baseUrl = await StartJanusAsync(cancellationToken).ConfigureAwait(false);
        }

        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var created = await PostAsync(baseUrl, new JsonObject { ["janus"] = "create" }, cancellationToken).ConfigureAwait(false);
        _sessionUrl = new Uri(baseUrl.ToString().TrimEnd('/') + "/" + Id(created));
        _poll = Task.Run(PollAsync, CancellationToken.None);
    }

    public async Task SetUpSessionAsync(LoadSession session, Pacer pacer, CancellationToken cancellationToken)
    {
        var room = _roomBase + session.Index;
        var control = await AttachAsync(cancellationToken).ConfigureAwait(false);
        var create = await MessageAsync(control, new JsonObject
        {
            ["request"] = "create",
            ["room"] = room,
            ["publishers"] = 2,
            ["bitrate"] = 10_000_000,
            ["audiocodec"] = "opus",
            ["videocodec"] = "vp8",
            ["notify_joining"] = false,
        }, null, cancellationToken).ConfigureAwait(false);
        if (PluginData(create)?["videoroom"]?.GetValue<string>() != "created")
        {
            throw new InvalidOperationException($"Janus did not create room {room}: {create.ToJsonString()}");
        }

        var state = new JanusSession(room, control);
        session.TargetState = state;

        // Both publish (therapist first, as in our flow), then each subscribes to the other's feed.
        state.TherapistPublisher = await PublishAsync(session.Therapist, room, 1, session, measureJoin: false, pacer, cancellationToken).ConfigureAwait(false);
        state.PatientPublisher = await PublishAsync(session.Patient, room, 2, session, measureJoin: true, pacer, cancellationToken).ConfigureAwait(false);
        session.AdmitTimestamp = Stopwatch.GetTimestamp();
        var subscribers = await Task.WhenAll(
            SubscribeAsync(session.Therapist, room, 2, cancellationToken),
            SubscribeAsync(session.Patient, room, 1, cancellationToken)).ConfigureAwait(false);
        state.TherapistSubscriber = subscribers[0];
        state.PatientSubscriber = subscribers[1];
        await Task.WhenAll(session.Therapist.FirstPacket.Task, session.Patient.FirstPacket.Task).WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
        session.RecordAdmitToFirstPacket();
    }

    public async Task TearDownSessionAsync(LoadSession session, CancellationToken cancellationToken)
    {
        if (session.TargetState is not JanusSession state)
        {
            return;
        }

        foreach (var handle in new[] { state.TherapistSubscriber, state.PatientSubscriber, state.TherapistPublisher, state.PatientPublisher })
        {
            if (handle is { } h)
            {
                await PostAsync(Handle(h), new JsonObject { ["janus"] = "detach" }, cancellationToken).ConfigureAwait(false);
            }
        }

        await MessageAsync(state.Control, new JsonObject { ["request"] = "destroy", ["room"] = state.Room }, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Janus has no end of session beyond its participants leaving and the room destroyed.</summary>
    public Task EndSessionAsync(LoadSession session, CancellationToken cancellationToken) => TearDownSessionAsync(session, cancellationToken);

    public Task<IReadOnlyList<NodeReading>> ReadNodesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<NodeReading>>([]);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_poll is not null)
        {
            try
            {
                await _poll.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        _http?.Dispose();
        if (_janus is { HasExited: false })
        {
            _janus.Kill(entireProcessTree: true);
            await _janus.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        _janus?.Dispose();
        if (_configFolder is not null)
        {
            try
            {
                if (Environment.GetEnvironmentVariable("TELETHERAPY_LOAD_KEEP_JANUS") != "1")
                {
                    Directory.Delete(_configFolder, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }

        _stop.Dispose();
    }

    private async Task<long> PublishAsync(MediaParticipant participant, int room, int feed, LoadSession session, bool measureJoin, Pacer pacer, CancellationToken cancellationToken)
    {
        var handle = await AttachAsync(cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var joined = await MessageAsync(handle, new JsonObject
        {
            ["request"] = "join",
            ["ptype"] = "publisher",
            ["room"] = room,
            ["id"] = feed,
            ["display"] = participant.Name,
        }, null, cancellationToken).ConfigureAwait(false);
        if (PluginData(joined)?["videoroom"]?.GetValue<string>() != "joined")
        {
            throw new InvalidOperationException($"Janus refused {participant.Name}'s join: {joined.ToJsonString()}");
        }

        if (measureJoin)
        {
            session.RecordJoin(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        // Janus takes the DTLS server role when the offer says active; our client stack is the DTLS client.
        await participant.PublishAsync(async offer =>
        {
            var configured = await MessageAsync(handle, new JsonObject { ["request"] = "publish" }, new JsonObject { ["type"] = "offer", ["sdp"] = offer }, cancellationToken).ConfigureAwait(false);
            var answer = configured["jsep"]?["sdp"]?.GetValue<string>()
                ?? throw new InvalidOperationException($"Janus answered {participant.Name}'s publish without SDP: {configured.ToJsonString()}");
            await TrickleCompletedAsync(handle, cancellationToken).ConfigureAwait(false);
            return answer;
        }, setupActive: true, pacer, cancellationToken).ConfigureAwait(false);
        return handle;
    }

    private async Task<long> SubscribeAsync(MediaParticipant participant, int room, int feed, CancellationToken cancellationToken)
    {
        var handle = await AttachAsync(cancellationToken).ConfigureAwait(false);
        JsonObject attached;
        for (var attempt = 1; ; attempt++)
        {
            attached = await MessageAsync(handle, new JsonObject
            {
                ["request"] = "join",
                ["ptype"] = "subscriber",
                ["room"] = room,
                ["streams"] = new JsonArray(new JsonObject { ["feed"] = feed }),
            }, null, cancellationToken).ConfigureAwait(false);

            // 428 "No such feed": the publisher's streams appear once Janus has its media up; ask again shortly.
            if (PluginData(attached)?["error_code"]?.GetValue<int>() != 428 || attempt == 20)
            {
                break;
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }

        var offer = attached["jsep"]?["sdp"]?.GetValue<string>()
            ?? throw new InvalidOperationException($"Janus sent {participant.Name} no subscribe offer: {attached.ToJsonString()}");
        var answer = participant.AnswerSubscribeOffer(offer);
        var started = await MessageAsync(handle, new JsonObject { ["request"] = "start" }, new JsonObject { ["type"] = "answer", ["sdp"] = answer }, cancellationToken).ConfigureAwait(false);
        if (PluginData(started)?["started"] is null && PluginData(started)?["videoroom"]?.GetValue<string>() != "event")
        {
            throw new InvalidOperationException($"Janus did not start {participant.Name}'s subscription: {started.ToJsonString()}");
        }

        await TrickleCompletedAsync(handle, cancellationToken).ConfigureAwait(false);
        await participant.EnsureSubscribeConnectedAsync(cancellationToken).ConfigureAwait(false);
        return handle;
    }

    private Task<JsonObject> TrickleCompletedAsync(long handle, CancellationToken cancellationToken) =>
        PostAsync(Handle(handle), new JsonObject { ["janus"] = "trickle", ["candidate"] = new JsonObject { ["completed"] = true } }, cancellationToken);

    private async Task<long> AttachAsync(CancellationToken cancellationToken)
    {
        var attached = await PostAsync(_sessionUrl!, new JsonObject { ["janus"] = "attach", ["plugin"] = "janus.plugin.videoroom" }, cancellationToken).ConfigureAwait(false);
        return Id(attached);
    }

    /// <summary>
    /// A videoroom request: synchronous ones answer in the HTTP response ("success"); asynchronous ones are acked and
    /// their event (with the same transaction) arrives on the long poll.
    /// </summary>
    private async Task<JsonObject> MessageAsync(long handle, JsonObject body, JsonObject? jsep, CancellationToken cancellationToken)
    {
        var transaction = NextTransaction();
        var message = new JsonObject { ["janus"] = "message", ["body"] = body, ["transaction"] = transaction };
        if (jsep is not null)
        {
            message["jsep"] = jsep;
        }

        var waiter = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[transaction] = waiter;
        try
        {
            var response = await SendAsync(Handle(handle), message, cancellationToken).ConfigureAwait(false);
            if (response["janus"]?.GetValue<string>() == "success")
            {
                return response;
            }

            return await waiter.Task.WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(transaction, out _);
        }
    }

    private Task<JsonObject> PostAsync(Uri url, JsonObject request, CancellationToken cancellationToken)
    {
        request["transaction"] = NextTransaction();
        return SendAsync(url, request, cancellationToken);
    }

    private async Task<JsonObject> SendAsync(Uri url, JsonObject request, CancellationToken cancellationToken)
    {
        using var response = await _http!.PostAsJsonAsync(url, request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var reply = (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false))!;
        if (reply["janus"]?.GetValue<string>() == "error")
        {
            throw new InvalidOperationException($"Janus: {reply["error"]?.ToJsonString()} for {request["janus"]}");
        }

        return reply;
    }

    /// <summary>The session's long poll: hands each event to the request waiting on its transaction.</summary>
    private async Task PollAsync()
    {
        var url = new Uri(_sessionUrl + "?maxev=50");
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var node = await _http!.GetFromJsonAsync<JsonNode>(url, _stop.Token).ConfigureAwait(false);
                var events = node is JsonArray array ? array.OfType<JsonObject>() : node is JsonObject one ? [one] : [];
                foreach (var e in events)
                {
                    if (e["transaction"]?.GetValue<string>() is { } transaction && e["janus"]?.GetValue<string>() == "event"
                        && _pending.TryGetValue(transaction, out var waiter))
                    {
                        waiter.TrySetResult(e);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private Uri Handle(long handle) => new(_sessionUrl + "/" + handle.ToString(CultureInfo.InvariantCulture));

    private string NextTransaction() => Interlocked.Increment(ref _transaction).ToString(CultureInfo.InvariantCulture);

    private static long Id(JsonObject reply) => reply["data"]?["id"]?.GetValue<long>() ?? throw new InvalidOperationException($"Janus gave no id: {reply.ToJsonString()}");

    private static JsonNode? PluginData(JsonObject reply) => reply["plugindata"]?["data"];

    private async Task<Uri> StartJanusAsync(CancellationToken cancellationToken)
    {
        var binary = FindOnPath("janus") ?? throw new JanusMissingException("Janus is not installed. Install it with:\n  apt-get install -y janus");
        var libraries = LibraryFolders.FirstOrDefault(Directory.Exists)
            ?? throw new JanusMissingException("Janus's plugin folder was not found (apt-get install -y janus).");
        _configFolder = Directory.CreateTempSubdirectory("janus-load-").FullName;
        var port = FreeTcpPort();
        var folder = _configFolder;
        await File.WriteAllTextAsync(Path.Combine(folder, "janus.jcfg"), $$"""
            general: {
                configs_folder = "{{folder}}"
                plugins_folder = "{{libraries}}/plugins"
                transports_folder = "{{libraries}}/transports"
                events_folder = "{{libraries}}/events"
                loggers_folder = "{{libraries}}/loggers"
                debug_level = 3
                session_timeout = 120
            }
            certificates: {
            }
            media: {
                rtp_port_range = "20000-60000"
            }
            nat: {
                nice_debug = false
                ice_lite = false
                ignore_mdns = true
                ice_enforce_list = "v0"
            }
            plugins: {
                disable = "{{string.Join(',', Plugins.Select(p => $"libjanus_{p}.so"))}}"
            }
            transports: {
                disable = "{{string.Join(',', Transports.Select(t => $"libjanus_{t}.so"))}}"
            }
            events: {
                broadcast = false
            }
            loggers: {
                disable = "libjanus_jsonlog.so"
            }
            """, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(folder, "janus.transport.http.jcfg"), $$"""
            general: {
                json = "compact"
                base_path = "/janus"
                http = true
                port = {{port}}
                ip = "127.0.0.1"
                https = false
            }
            admin: {
                admin_http = false
            }
            """, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(folder, "janus.plugin.videoroom.jcfg"), "general: {\n}\n", cancellationToken).ConfigureAwait(false);

        var start = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--config=" + Path.Combine(folder, "janus.jcfg"), "--configs-folder=" + folder, "--log-file=" + Path.Combine(folder, "janus.log"), "--disable-colors", "--debug-level=3" })
        {
            start.ArgumentList.Add(argument);
        }

        _janus = Process.Start(start) ?? throw new InvalidOperationException("Janus did not start.");
        _janus.OutputDataReceived += (_, _) => { };
        _janus.ErrorDataReceived += (_, _) => { };
        _janus.BeginOutputReadLine();
        _janus.BeginErrorReadLine();
        Relay = new ProcessMonitor(_janus.Id);
        var url = new Uri($"http://127.0.0.1:{port}/janus");
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_janus.HasExited)
            {
                throw new InvalidOperationException($"Janus exited with code {_janus.ExitCode}; see {Path.Combine(folder, "janus.log")}.");
            }

            try
            {
                using var response = await probe.GetAsync(new Uri(url + "/info"), cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return url;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException("Janus's HTTP API did not answer within 30 s.");
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static int FreeTcpPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    private sealed class JanusSession(int room, long control)
    {
        public int Room { get; } = room;

        public long Control { get; } = control;

        public long? TherapistPublisher { get; set; }

        public long? PatientPublisher { get; set; }

        public long? TherapistSubscriber { get; set; }

        public long? PatientSubscriber { get; set; }
    }
}
