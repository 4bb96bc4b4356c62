using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Stun;

namespace Teletherapy.LoadTests;

/// <summary>How much of each kind <c>--flood</c> sends at the relay's media port.</summary>
internal sealed record FloodSize(int Datagrams, int StunChecks, int ClientHellos, int TcpConnections)
{
    /// <summary>The figures of the reliability note: 100k random datagrams, 10k checks, 1k ClientHellos, 100 silent connections.</summary>
    public static readonly FloodSize Full = new(100_000, 10_000, 1_000, 100);

    /// <summary><c>full</c>, or four whole numbers: datagrams,checks,hellos,connections.</summary>
    public static FloodSize Parse(string text)
    {
        if (text == "full")
        {
            return Full;
        }

        var parts = text.Split(',');
        if (parts.Length != 4 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 1_000_000))
        {
            throw new FormatException($"--flood is 'full' or datagrams,checks,hellos,connections (e.g. 5000,1000,200,20), not '{text}'.");
        }

        var n = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return n[3] > 250
            ? throw new FormatException("--flood opens at most 250 connections (one per loopback address 127.0.0.2 and up).")
            : new FloodSize(n[0], n[1], n[2], n[3]);
    }
}

/// <summary>What the flood sent, what the server counted for it, and how the server held up (report.json <c>flood</c>).</summary>
internal sealed record FloodReport
{
    public required FloodSize Sent { get; init; }

    /// <summary>Datagrams a second the UDP kinds were paced at.</summary>
    public required int PacketsPerSecond { get; init; }

    public required double FloodSeconds { get; init; }

    /// <summary>Growth of <c>teletherapy_relay_packets_dropped_total</c> over the flood, by reason (reasons that grew).</summary>
    public required IReadOnlyDictionary<string, long> DroppedByReason { get; init; }

    /// <summary>Growth of <c>teletherapy_relay_tcp_connections_refused_total{reason="idle-timeout"}</c>.</summary>
    public required long TcpIdleClosed { get; init; }

    /// <summary>Of the silent connections, those the server closed (the client saw the end of the stream).</summary>
    public required int TcpClosedByServer { get; init; }

    public required int HealthChecks { get; init; }

    /// <summary>Health checks that did not answer 200 within 2 s.</summary>
    public required int HealthChecksFailed { get; init; }

    public required double HealthCheckMaxMs { get; init; }

    /// <summary>The server's <c>process_working_set_bytes</c> before, at its highest during, and after the flood.</summary>
    public required long? RssBeforeBytes { get; init; }

    public required long? RssPeakBytes { get; init; }

    public required long? RssAfterBytes { get; init; }

    /// <summary>The server's <c>dotnet_total_memory_bytes</c> (managed heap) before, at its highest during, and after.</summary>
    public required long? HeapBeforeBytes { get; init; }

    public required long? HeapPeakBytes { get; init; }

    public required long? HeapAfterBytes { get; init; }
}

/// <summary>
/// A flood at the relay's media port from other loopback addresses (127.0.0.2 and up), while the sessions run: random
/// datagrams, STUN binding requests with wrong credentials (half naming no transport, half a real transport's ufrag
/// with a wrong password), DTLS ClientHellos from addresses that never did an ICE check, and ICE-TCP connections that
/// never say a word. Meanwhile <c>/healthz</c> is asked every 100 ms and <c>/metrics</c> every 250 ms; the memory figures
/// and the drop counters are read before and a few seconds after.
/// </summary>
internal sealed class MediaFlood(FloodSize size, int packetsPerSecond, Uri server, IPEndPoint udp, IPEndPoint? tcp, string realUfrag)
{
    private const string Dropped = "teletherapy_relay_packets_dropped_total{reason=\"";
    private const string IdleClosed = "teletherapy_relay_tcp_connections_refused_total{reason=\"idle-timeout\"}";
    private const string Rss = "process_working_set_bytes";
    private const string Heap = "dotnet_total_memory_bytes";

    /// <summary>How long after the last flood packet (and the silent connections' close) memory is read again.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    public async Task<FloodReport> RunAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var before = await ReadMetricsAsync(http, cancellationToken).ConfigureAwait(false);
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var health = Task.Run(() => WatchHealthAsync(http, watching.Token), CancellationToken.None);
        var peaks = Task.Run(() => WatchMemoryAsync(http, watching.Token), CancellationToken.None);
        var clock = Stopwatch.StartNew();

        // The silent connections first, so their idle timers run while the datagrams go out.
        var connections = await OpenSilentConnectionsAsync(cancellationToken).ConfigureAwait(false);
        await Task.Run(SendDatagrams, cancellationToken).ConfigureAwait(false);
        var closedByServer = await WaitClosedAsync(connections, http, before, cancellationToken).ConfigureAwait(false);
        var floodSeconds = clock.Elapsed.TotalSeconds;
        await Task.Delay(Settle, cancellationToken).ConfigureAwait(false);
        var after = await ReadMetricsAsync(http, cancellationToken).ConfigureAwait(false);
        await watching.CancelAsync().ConfigureAwait(false);
        var (checks, failed, maxMs) = await health.ConfigureAwait(false);
        var (rssPeak, heapPeak) = await peaks.ConfigureAwait(false);
        foreach (var connection in connections)
        {
            connection.Dispose();
        }

        return new FloodReport
        {
            Sent = size,
            PacketsPerSecond = packetsPerSecond,
            FloodSeconds = Math.Round(floodSeconds, 2),
            DroppedByReason = after.Where(kv => kv.Key.StartsWith(Dropped, StringComparison.Ordinal))
                .Select(kv => (Reason: kv.Key[Dropped.Length..^2], Grew: (long)(kv.Value - before.GetValueOrDefault(kv.Key))))
                .Where(r => r.Grew > 0)
                .OrderBy(r => r.Reason, StringComparer.Ordinal)
                .ToDictionary(r => r.Reason, r => r.Grew),
            TcpIdleClosed = (long)(after.GetValueOrDefault(IdleClosed) - before.GetValueOrDefault(IdleClosed)),
            TcpClosedByServer = closedByServer,
            HealthChecks = checks,
            HealthChecksFailed = failed,
            HealthCheckMaxMs = Math.Round(maxMs, 1),
            RssBeforeBytes = Value(before, Rss),
            RssPeakBytes = rssPeak,
            RssAfterBytes = Value(after, Rss),
            HeapBeforeBytes = Value(before, Heap),
            HeapPeakBytes = heapPeak,
            HeapAfterBytes = Value(after, Heap),
        };
    }

    /// <summary>A source address of the flood: 127.0.0.2 and up, never the sessions' 127.0.0.1.</summary>
    private static IPAddress Source(int i) => new([127, 0, 0, (byte)(2 + (i % 250))]);

    private static long? Value(Dictionary<string, double> metrics, string name) =>
        metrics.TryGetValue(name, out var value) ? (long)value : null;

    private async Task<List<Socket>> OpenSilentConnectionsAsync(CancellationToken cancellationToken)
    {
        var sockets = new List<Socket>();
        if (tcp is null)
        {
            return sockets;
        }

        for (var i = 0; i < size.TcpConnections; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(Source(i), 0));
            await socket.ConnectAsync(tcp, cancellationToken).ConfigureAwait(false);
            sockets.Add(socket);
        }

        return sockets;
    }

    /// <summary>Every UDP kind in turn, each from its own sockets on other loopback addresses, paced.</summary>
    private void SendDatagrams()
    {
        var random = new Random(19);
        var sockets = Enumerable.Range(0, 16).Select(i =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(Source(i), 0));
            return socket;
        }).ToArray();
        try
        {
            var buffer = new byte[1500];
            var pacer = Stopwatch.StartNew();
            long sent = 0;
            void Send(int i, ReadOnlySpan<byte> datagram)
            {
                sockets[i % sockets.Length].SendTo(datagram, SocketFlags.None, udp);
                sent++;
                while (sent > pacer.Elapsed.TotalSeconds * packetsPerSecond)
                {
                    Thread.Sleep(1);
                }
            }

            for (var i = 0; i < size.Datagrams; i++)
            {
                Send(i, RandomDatagram(random, buffer));
            }

            var password = Encoding.ASCII.GetBytes(IceCredentials.Create().Password);
            var transactionId = new byte[12];
            for (var i = 0; i < size.StunChecks; i++)
            {
                // Half name a transport that does not exist (wrong USERNAME), half a real one with a wrong password
                // (wrong MESSAGE-INTEGRITY).
                var ufrag = i % 2 == 0 ? "nobody" + i.ToString("x4", CultureInfo.InvariantCulture) : realUfrag;
                random.NextBytes(transactionId);
                var length = StunMessages.WriteBindingRequest(
                    buffer,
                    transactionId,
                    Encoding.ASCII.GetBytes(ufrag + ":flood"),
                    IceCandidatePriority.Compute(IceCandidatePriority.PeerReflexiveTypePreference, 65535),
                    (ulong)random.NextInt64(),
                    useCandidate: true,
                    password);
                Send(i, buffer.AsSpan(0, length));
            }

            for (var i = 0; i < size.ClientHellos; i++)
            {
                Send(i, ClientHello(random, buffer));
            }
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>
    /// 20 to 1200 random bytes, drawn again in the rare case they form a STUN header (magic cookie) or a DTLS record
    /// header, so every one of them is garbage.
    /// </summary>
    private static ReadOnlySpan<byte> RandomDatagram(Random random, byte[] buffer)
    {
        var datagram = buffer.AsSpan(0, random.Next(20, 1201));
        do
        {
            random.NextBytes(datagram);
        }
        while ((datagram[0] is >= 20 and <= 25 && datagram[1] == 0xFE) || (datagram[4] == 0x21 && datagram[5] == 0x12));

        return datagram;
    }

    /// <summary>A DTLS 1.2 record (RFC 6347 §4.1) with a ClientHello handshake header and a random body, as a first flight.</summary>
    private static ReadOnlySpan<byte> ClientHello(Random random, byte[] buffer)
    {
        const int body = 180;
        var record = buffer.AsSpan(0, 13 + 12 + body);
        random.NextBytes(record);
        record[0] = 22;
        record[1] = 0xFE;
        record[2] = 0xFD;
        record[3] = 0;
        record[4] = 0;
        record[11] = 0;
        record[12] = 12 + body;
        record[13] = 1; // client_hello
        record[14] = 0;
        record[15] = 0;
        record[16] = body;
        record[25] = 0xFE; // client_version 254.253
        record[26] = 0xFD;
        return record;
    }

    /// <summary>
    /// Waits until the server has closed every silent connection (a read returns the end of the stream) and its
    /// idle-timeout counter shows them, or 30 s; returns how many the server closed.
    /// </summary>
    private async Task<int> WaitClosedAsync(List<Socket> connections, HttpClient http, Dictionary<string, double> before, CancellationToken cancellationToken)
    {
        var reads = connections.Select(async socket =>
        {
            try
            {
                var read = await socket.ReceiveAsync(new byte[16], SocketFlags.None, cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                return read == 0;
            }
            catch (SocketException)
            {
                return true; // reset by the server
            }
            catch (TimeoutException)
            {
                return false;
            }
        }).ToList();
        var closed = (await Task.WhenAll(reads).ConfigureAwait(false)).Count(c => c);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            var now = await ReadMetricsAsync(http, cancellationToken).ConfigureAwait(false);
            if (now.GetValueOrDefault(IdleClosed) - before.GetValueOrDefault(IdleClosed) >= closed)
            {
                break;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return closed;
    }

    private async Task<(int Checks, int Failed, double MaxMs)> WatchHealthAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var (checks, failed, maxMs) = (0, 0, 0.0);
        while (!cancellationToken.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.GetAsync(new Uri(server, "/healthz"), CancellationToken.None).ConfigureAwait(false);
                failed += response.StatusCode == HttpStatusCode.OK ? 0 : 1;
            }
            catch (HttpRequestException)
            {
                failed++;
            }
            catch (TaskCanceledException)
            {
                failed++;
            }

            checks++;
            maxMs = Math.Max(maxMs, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            try
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return (checks, failed, maxMs);
    }

    private async Task<(long? Rss, long? Heap)> WatchMemoryAsync(HttpClient http, CancellationToken cancellationToken)
    {
        long? rss = null;
        long? heap = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var metrics = await ReadMetricsAsync(http, cancellationToken).ConfigureAwait(false);
                rss = Max(rss, Value(metrics, Rss));
                heap = Max(heap, Value(metrics, Heap));
                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return (rss, heap);

        static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
    }

    /// <summary>Every sample of <c>/metrics</c> by its full name with labels; empty when the scrape failed.</summary>
    private async Task<Dictionary<string, double>> ReadMetricsAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        string text;
        try
        {
            text = await http.GetStringAsync(new Uri(server, "/metrics"), cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return metrics;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return metrics;
        }

        foreach (var line in text.Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            if (line.Length == 0 || line[0] == '#' || space <= 0)
            {
                continue;
            }

            if (double.TryParse(line[(space + 1)..].TrimEnd('\r'), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                metrics[line[..space]] = value;
            }
        }

        return metrics;
    }
}
