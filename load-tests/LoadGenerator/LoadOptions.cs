using System.Globalization;

namespace Teletherapy.LoadTests;

/// <summary>Which relay the load goes through.</summary>
internal enum LoadTarget
{
    Teletherapy,
    Janus,
}

/// <summary>The command line of <c>./load-tests/run.sh</c> (see <see cref="Usage"/>).</summary>
internal sealed record LoadOptions
{
    /// <summary>The most people in one session: our server's room (router) holds 16 with media by default.</summary>
    public const int MaxParticipants = 16;

    public const string Usage = """
        Usage: ./load-tests/run.sh [--target teletherapy|janus] [--server URL ... --api-key KEY --outbox DIR ...]
                                   --sessions N [--participants N] --duration 30s [--simulcast] [--out DIR] [--janus-url URL]
                                   [--churn N [--churn-every 60s]]
          --target      teletherapy (default) or janus (Debian's janus, videoroom plugin)
          --server      a running Teletherapy server (with --api-key, and --outbox DIR: the server's outbox folder,
                        where the join links are read); without it the tool starts its own server on loopback.
                        Repeat it for the nodes of a cluster (one --api-key for all; --outbox once if they share
                        the folder, else once per node): session i's therapist is on node i mod n, its patient on
                        node i+1 mod n, and the report shows each node's rooms and CPU (from its /metrics)
          --sessions    sessions (a therapist and the patient's contacts), 1-1000
          --participants  people in each session, 2-16 (default 2: therapist + patient, a 1:1 session); above 2 the
                        patient has N-1 contacts, each joining with the link from its own email, everyone publishing
                        audio and video and receiving everyone else (our server's room holds 16; Janus only 1:1)
          --duration    how long media flows once the sessions are up: 30s, 2m, 500ms or seconds (1 s to 1 h)
          --simulcast   three VP8 layers (q, h, f) per video
          --out         where report.json and report.html go (default load-tests/out/<target>-<sessions>, with
                        x<participants> after it for group sessions)
          --janus-url   a running Janus HTTP API (e.g. http://127.0.0.1:8088/janus); without it the tool starts Janus
          --setup-timeout  longest wait for all sessions to come up (default 30s + 0.3 s per session)
          --warmup      media flows this long after setup before the measured window starts (default 10s; JIT, caches)
          --client-sockets  shared (default for our server): the tool's connections share one UDP port per receive
                        thread, each on a loopback address of its own (127.1.0.1 and up), read and sent in batches;
                        own (default, and the only choice, for Janus): a socket each, read by the receive threads
                        through epoll
          --receive-threads  threads that receive for all the tool's connections (default 1, as the floor forwarder's
                        receivers are one thread); with --client-sockets own, 0 gives each connection a thread of its own
          --pacer-threads  threads that send every participant's media on time (default 1, at most 16)
          --send-tick   send on ticks of this length (1ms to 100ms, e.g. 10ms): every packet due since the last tick
                        leaves at the next, all participants' together, as the floor forwarder's generator sends (10 ms
                        ticks); the relay then takes packets in bursts, as that forwarder does (default 0: each packet
                        on its own time, as independent clients send)
          --flood       while the window runs, flood the relay's media port from 127.0.0.2 and up: 'full' (100000 random
                        datagrams, 10000 STUN checks with wrong credentials, 1000 DTLS ClientHellos from addresses that
                        did no ICE check, 100 ICE-TCP connections that never speak) or datagrams,checks,hellos,connections;
                        the window lasts until the flood is over (the silent connections are closed by the server's idle
                        timeout, 10 s by default); report.json gets a "flood" section (our server only)
          --flood-rate  datagrams a second of the flood (default 20000)
          --churn       sessions ended and replaced every --churn-every while media flows (default 0: none): the
                        oldest end as people do (each contact leaves, the therapist ends the session), and as many
                        new appointments are made, joined and admitted; the report then judges growth (soak)
          --churn-every  the churn period (default 60s)
          --receive-coalesce  a receive thread that found data pauses this long (e.g. 0.5ms, at most 5ms) so its next
                        wake-up reads more; adds up to as much to the measured transit latency (default 0: no pause)
          --listeners   in each session, the first N participants (the therapist first) take in the media they are
                        sent all through; the others do until the window starts, then read it off their sockets and
                        drop it undecrypted (ICE, DTLS and RTCP carry on): the relay's work is the same, the tool's
                        receiving a fraction of it, for measuring the relay past what this machine could also take in
                        (loss and transit are the listeners'; packets forwarded and CPU per packet from the relay's
                        own count); default: everyone (our server only, not with --churn)
        """;

    public LoadTarget Target { get; init; } = LoadTarget.Teletherapy;

    /// <summary>Running servers (cluster nodes) the sessions are spread over; empty: the tool starts its own.</summary>
    public IReadOnlyList<Uri> Servers { get; init; } = [];

    public string? ApiKey { get; init; }

    /// <summary>The outbox folders the join links are read from (one the nodes share, or one per node).</summary>
    public IReadOnlyList<string> Outboxes { get; init; } = [];

    public int Sessions { get; init; }

    /// <summary>People in each session: the therapist and <c>Participants − 1</c> contacts of the patient.</summary>
    public int Participants { get; init; } = 2;

    public TimeSpan Duration { get; init; }

    public bool Simulcast { get; init; }

    public string? OutputDirectory { get; init; }

    public Uri? JanusUrl { get; init; }

    public TimeSpan? SetupTimeout { get; init; }

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Threads of the shared receive group; null: one; 0: no group, a thread per connection.</summary>
    public int? ReceiveThreads { get; init; }

    /// <summary><c>--client-sockets</c>: true shared ports, false a socket per connection, null the target's default.</summary>
    public bool? SharedClientSockets { get; init; }

    /// <summary>
    /// Whether connections share ports: by default for our server; never for Janus, which (in the network namespace
    /// the tool gives it) answers connectivity checks from its own address 127.0.0.2 only, the source a socket connected
    /// to it gets, and so never from the shared ports' 127.1.x.y addresses.
    /// </summary>
    public bool EffectiveSharedClientSockets => SharedClientSockets ?? Target == LoadTarget.Teletherapy;

    /// <summary>Threads that pace and send the participants' media (<see cref="Pacer"/>).</summary>
    public int PacerThreads { get; init; } = 1;

    /// <summary>
    /// <c>--send-tick</c>: the pacers send on ticks of this length, everything due since the last one at once (zero: each
    /// packet when it is due).
    /// </summary>
    public TimeSpan SendTick { get; init; }

    /// <summary>The pause of a receive thread after a wake-up that found data (zero: none).</summary>
    public TimeSpan ReceiveCoalesce { get; init; }

    /// <summary>What <see cref="ReceiveThreads"/> comes to.</summary>
    public int EffectiveReceiveThreads => ReceiveThreads ?? 1;

    /// <summary>The server dll to start when no <see cref="Server"/> is given (run.sh passes the one it built).</summary>
    public string? ServerDll { get; init; }

    /// <summary>Where generated media is kept between runs.</summary>
    public string? MediaCache { get; init; }

    /// <summary>The flood at the media port during the window (<c>--flood</c>); null: none.</summary>
    public FloodSize? Flood { get; init; }

    /// <summary>Datagrams a second of the flood.</summary>
    public int FloodRate { get; init; } = 20_000;
    /// <summary>Sessions ended and replaced with new ones every <see cref="ChurnEvery"/> in the measured window (0: none).</summary>
    public int Churn { get; init; }

    public TimeSpan ChurnEvery { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Participants of each session (the first ones, the therapist first) that take in their media all through the
    /// window; the others drop theirs unread once it starts. Null: everyone.
    /// </summary>
    public int? Listeners { get; init; }

    /// <summary>Prints no live progress line (tests).</summary>
    public bool Quiet { get; init; }

    /// <summary>30 s, plus 0.3 s for each contact that joins (one per 1:1 session).</summary>
    public TimeSpan EffectiveSetupTimeout => SetupTimeout ?? TimeSpan.FromSeconds(30 + (0.3 * Sessions * (Participants - 1)));

    public static bool TryParse(IReadOnlyList<string> args, out LoadOptions? options, out string? error)
    {
        options = null;
        var result = new LoadOptions();
        var sessionsGiven = false;
        var durationGiven = false;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value()
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new FormatException($"{name} needs a value.");
                }

                return args[++i];
            }

            try
            {
                switch (name)
                {
                    case "--target":
                        var target = Value();
                        result = result with
                        {
                            Target = target switch
                            {
                                "teletherapy" => LoadTarget.Teletherapy,
                                "janus" => LoadTarget.Janus,
                                _ => throw new FormatException($"--target is teletherapy or janus, not '{target}'."),
                            },
                        };
                        break;
                    case "--server":
                        result = result with { Servers = [.. result.Servers, ParseUrl(name, Value())] };
                        break;
                    case "--api-key":
                        result = result with { ApiKey = Value() };
                        break;
                    case "--outbox":
                        result = result with { Outboxes = [.. result.Outboxes, Value()] };
                        break;
                    case "--sessions":
                        var text = Value();
                        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var sessions) || sessions is < 1 or > 1000)
                        {
                            throw new FormatException($"--sessions is a whole number from 1 to 1000, not '{text}'.");
                        }

                        result = result with { Sessions = sessions };
                        sessionsGiven = true;
                        break;
                    case "--participants":
                        var count = Value();
                        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var participants) || participants is < 2 or > MaxParticipants)
                        {
                            throw new FormatException($"--participants is a whole number from 2 (therapist and patient) to {MaxParticipants} (the people our server's room holds with media, Media__MaxPeersPerRouter's default), not '{count}'.");
                        }

                        result = result with { Participants = participants };
                        break;
                    case "--duration":
                        var duration = ParseDuration(name, Value());
                        if (duration < TimeSpan.FromSeconds(1) || duration > TimeSpan.FromHours(1))
                        {
                            throw new FormatException("--duration is from 1s to 1h.");
                        }

                        result = result with { Duration = duration };
                        durationGiven = true;
                        break;
                    case "--setup-timeout":
                        result = result with { SetupTimeout = ParseDuration(name, Value()) };
                        break;
                    case "--warmup":
                        result = result with { Warmup = ParseDurationOrZero(name, Value()) };
                        break;
                    case "--receive-threads":
                        var threadsText = Value();
                        if (!int.TryParse(threadsText, NumberStyles.None, CultureInfo.InvariantCulture, out var threads) || threads > 64)
                        {
                            throw new FormatException($"--receive-threads is a whole number from 0 (a thread per connection) to 64, not '{threadsText}'.");
                        }

                        result = result with { ReceiveThreads = threads };
                        break;
                    case "--client-sockets":
                        var sockets = Value();
                        result = result with
                        {
                            SharedClientSockets = sockets switch
                            {
                                "shared" => true,
                                "own" => false,
                                _ => throw new FormatException($"--client-sockets is shared or own, not '{sockets}'."),
                            },
                        };
                        break;
                    case "--pacer-threads":
                        var pacerText = Value();
                        if (!int.TryParse(pacerText, NumberStyles.None, CultureInfo.InvariantCulture, out var pacers) || pacers is < 1 or > 16)
                        {
                            throw new FormatException($"--pacer-threads is a whole number from 1 to 16, not '{pacerText}'.");
                        }

                        result = result with { PacerThreads = pacers };
                        break;
                    case "--send-tick":
                        var tick = ParseDurationOrZero(name, Value());
                        if (tick != TimeSpan.Zero && (tick < TimeSpan.FromMilliseconds(1) || tick > TimeSpan.FromMilliseconds(100)))
                        {
                            throw new FormatException($"--send-tick is 0 or from 1ms to 100ms, not '{args[i]}'.");
                        }

                        result = result with { SendTick = tick };
                        break;
                    case "--receive-coalesce":
                        var coalesce = ParseDurationOrZero(name, Value());
                        if (coalesce > TimeSpan.FromMilliseconds(5))
                        {
                            throw new FormatException("--receive-coalesce is at most 5ms.");
                        }

                        result = result with { ReceiveCoalesce = coalesce };
                        break;
                    case "--flood":
                        result = result with { Flood = FloodSize.Parse(Value()) };
                        break;
                    case "--flood-rate":
                        var rateText = Value();
                        if (!int.TryParse(rateText, NumberStyles.None, CultureInfo.InvariantCulture, out var rate) || rate is < 100 or > 1_000_000)
                        {
                            throw new FormatException($"--flood-rate is datagrams a second, 100 to 1000000, not '{rateText}'.");
                        }

                        result = result with { FloodRate = rate };
                        break;
                    case "--churn":
                        var churnText = Value();
                        if (!int.TryParse(churnText, NumberStyles.None, CultureInfo.InvariantCulture, out var churn) || churn > 1000)
                        {
                            throw new FormatException($"--churn is a whole number of sessions from 0 to 1000, not '{churnText}'.");
                        }

                        result = result with { Churn = churn };
                        break;
                    case "--churn-every":
                        var every = ParseDuration(name, Value());
                        if (every < TimeSpan.FromSeconds(5))
                        {
                            throw new FormatException("--churn-every is at least 5s (ending and setting up sessions takes seconds).");
                        }

                        result = result with { ChurnEvery = every };
                        break;
                    case "--listeners":
                        var listenersText = Value();
                        if (!int.TryParse(listenersText, NumberStyles.None, CultureInfo.InvariantCulture, out var listeners) || listeners is < 1 or > MaxParticipants)
                        {
                            throw new FormatException($"--listeners is a whole number of participants from 1 to {MaxParticipants}, not '{listenersText}'.");
                        }

                        result = result with { Listeners = listeners };
                        break;
                    case "--simulcast":
                        result = result with { Simulcast = true };
                        break;
                    case "--out":
                        result = result with { OutputDirectory = Value() };
                        break;
                    case "--janus-url":
                        result = result with { JanusUrl = ParseUrl(name, Value()) };
                        break;
                    case "--server-dll":
                        result = result with { ServerDll = Value() };
                        break;
                    case "--media-cache":
                        result = result with { MediaCache = Value() };
                        break;
                    case "--quiet":
                        result = result with { Quiet = true };
                        break;
                    default:
                        throw new FormatException($"Unknown argument '{name}'.");
                }
            }
            catch (FormatException exception)
            {
                error = exception.Message;
                return false;
            }
        }

        error = (sessionsGiven, durationGiven) switch
        {
            (false, _) => "--sessions is required.",
            (_, false) => "--duration is required.",
            _ => null,
        };
        error ??= ServerError(result);

        if (error is null && result.EffectiveSharedClientSockets && result.ReceiveThreads == 0)
        {
            error = "--receive-threads 0 (a thread per connection) needs --client-sockets own.";
        }

        if (error is null && result.Target == LoadTarget.Janus && result.SharedClientSockets == true)
        {
            error = "--client-sockets shared is for --target teletherapy: ICE with Janus does not complete from the shared ports' addresses.";
        }

        if (error is null && result.Target == LoadTarget.Teletherapy && result.JanusUrl is not null)
        {
            error = "--janus-url is for --target janus.";
        }

        if (error is null && result.Target == LoadTarget.Janus && result.Flood is not null)
        {
            error = "--flood is for --target teletherapy: it reads the server's /metrics.";
        }

        if (error is null && result.Target == LoadTarget.Janus && result.Participants > 2)
        {
            error = "--participants above 2 is for --target teletherapy: the Janus target sets up 1:1 videoroom sessions only.";
        }

        if (error is null && result.Churn > result.Sessions)
        {
            error = $"--churn ({result.Churn}) is at most --sessions ({result.Sessions}): it replaces sessions that run.";
        }

        if (error is null && result.Listeners is { } listening)
        {
            error = result.Target == LoadTarget.Janus
                ? "--listeners is for --target teletherapy: the packets forwarded are then read from the server's /metrics."
                : listening > result.Participants
                    ? $"--listeners ({listening}) is at most --participants ({result.Participants})."
                    : result.Churn > 0
                        ? "--listeners does not go with --churn (the sessions churn sets up would listen all through)."
                        : null;
        }

        if (error is not null)
        {
            return false;
        }

        options = result;
        return true;
    }

    /// <summary>What is wrong with the combination of <c>--server</c>, <c>--api-key</c> and <c>--outbox</c>, if anything.</summary>
    private static string? ServerError(LoadOptions options)
    {
        var servers = options.Servers.Count;
        if (options.Target == LoadTarget.Janus && servers > 0)
        {
            return servers > 1
                ? "Several --server URLs are cluster nodes of our server (--target teletherapy); Janus is one server, given with --janus-url."
                : "--server is for --target teletherapy; use --janus-url for a running Janus.";
        }

        if (servers > 0 && string.IsNullOrEmpty(options.ApiKey))
        {
            return servers > 1 ? "--server needs --api-key (one key that every node accepts)." : "--server needs --api-key.";
        }

        if (servers == 0 && options.ApiKey is not null)
        {
            return "--api-key goes with --server.";
        }

        if (servers == 0 && options.Outboxes.Count > 0)
        {
            return "--outbox goes with --server (the tool's own server has its own outbox).";
        }

        if (options.Servers.Distinct().Count() < servers)
        {
            return "The same --server URL is given twice; give each node once.";
        }

        if (options.Outboxes.Count > 1 && options.Outboxes.Count != servers)
        {
            return $"--outbox is given once (a folder the nodes share) or once per --server ({servers}), not {options.Outboxes.Count} times.";
        }

        return null;
    }

    /// <summary>30s, 2m, 500ms, 1h, or plain seconds.</summary>
    public static TimeSpan ParseDuration(string name, string text)
    {
        var units = new (string Suffix, double Seconds)[] { ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), (string.Empty, 1) };
        foreach (var (suffix, seconds) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
                && value > 0)
            {
                return TimeSpan.FromSeconds(value * seconds);
            }
        }

        throw new FormatException($"{name} is a duration like 30s, 2m or 500ms, not '{text}'.");
    }

    private static TimeSpan ParseDurationOrZero(string name, string text) =>
        text is "0" or "0s" ? TimeSpan.Zero : ParseDuration(name, text);

    private static Uri ParseUrl(string name, string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new FormatException($"{name} is an http(s) URL, not '{text}'.");
}
