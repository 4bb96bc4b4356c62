using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Hosting;

/// <summary>
/// The relay as the host sees it: routers (one per session) and connection tests on the shared media
/// sockets. A once-a-second housekeeping pass closes peers whose ICE consent expired (RFC 7675), ends
/// connection tests at their time limit, sends a Sender Report for every outgoing SSRC and a Receiver Report
/// for every incoming one, reconsiders subscribers' simulcast layers and updates each session's active speaker.
/// </summary>
public sealed partial class MediaRelayService : IHostedService, IDisposable
{
    private readonly MediaSockets _sockets;
    private readonly MediaOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MediaRelayService> _logger;
    private readonly ConcurrentDictionary<string, Router> _routers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConnectionTest> _tests = new(StringComparer.Ordinal);
    private readonly Lazy<RelayContext> _context;
    private readonly Lock _limitsLock = new();
    private readonly Dictionary<AddressRange, int> _testsPerRange = [];
    private int _testCount;
    private ITimer? _housekeeping;

    public MediaRelayService(MediaSockets sockets, IOptions<MediaOptions> options, TimeProvider time, ILogger<MediaRelayService> logger)
    {
        _sockets = sockets;
        _options = options.Value;
        _time = time;
        _logger = logger;
        IReadOnlyList<string> announced = _options.AnnouncedAddresses.Count > 0 ? [.. _options.AnnouncedAddresses] : [DefaultAnnouncedAddress()];
        AnnouncedAddresses = announced;
        _context = new Lazy<RelayContext>(() => new RelayContext(_sockets, DtlsCertificate.Generate(), announced, _time, _options));
    }

    /// <summary>The addresses put into ICE candidates.</summary>
    internal IReadOnlyList<string> AnnouncedAddresses { get; }

    /// <summary>Live routers (sessions with media).</summary>
    internal int RouterCount => _routers.Count;

    /// <summary>
    /// The router (session) with this id, made on first use. Throws <see cref="MediaLimitExceededException"/> (counted)
    /// instead of making a router beyond <see cref="MediaOptions.MaxRouters"/>; an existing one is always returned.
    /// </summary>
    public Router GetOrCreateRouter(string id)
    {
        if (_routers.TryGetValue(id, out var existing))
        {
            return existing;
        }

        lock (_limitsLock)
        {
            if (_routers.TryGetValue(id, out existing))
            {
                return existing;
            }

            if (_routers.Count >= _options.MaxRouters)
            {
                RelayMetrics.LimitRouters.Inc();
                throw new MediaLimitExceededException(
                    MediaLimits.Routers, $"The media server already runs {_options.MaxRouters} sessions, its limit; please try again later.");
            }

            var router = new Router(id, _context.Value, r => _routers.TryRemove(new KeyValuePair<string, Router>(r.Id, r)));
            _routers[id] = router;
            return router;
        }
    }

    /// <summary>Live peer transports of every router and connection test (tests check that closing frees them).</summary>
    internal int TransportCount => _context.Value.Transports.Count;

    internal RetransmissionBlocks RetransmissionBlocks => _context.Value.RetransmissionBlocks;

    /// <summary>
    /// Whether a connection of the relay with this local ICE ufrag (the one its offer or answer gave) is open: its ICE
    /// checks are answered. False once the connection is closed.
    /// </summary>
    internal bool HasConnection(string localIceUfrag)
    {
        ArgumentNullException.ThrowIfNull(localIceUfrag);
        return _context.Value.Transports.Values.Any(t => t.Transport.State != WebRtcTransportState.Closed
            && string.Equals(t.Transport.LocalIce.Ufrag, localIceUfrag, StringComparison.Ordinal));
    }

    /// <summary>DTLS handshakes in progress (tests check the cap).</summary>
    internal DtlsHandshakeSlots HandshakeSlots => _context.Value.HandshakeSlots;

    /// <summary>Connection tests running now.</summary>
    internal int ConnectionTestCount => _tests.Count;

    public Router? FindRouter(string id) => _routers.TryGetValue(id, out var router) ? router : null;

    /// <summary>
    /// Starts a connection test from the browser's offer; the relay sends the browser's own audio and video back.
    /// Returns null with the reason when the offer cannot be used.
    /// </summary>
    internal ConnectionTest? StartConnectionTest(string offerSdp, TimeSpan lifetime, out string? error)
    {
        var start = StartConnectionTest(offerSdp, lifetime, client: null);
        error = start.Error;
        return start.Test;
    }

    /// <summary>
    /// Starts a connection test for a caller at <paramref name="client"/> (null: no per-address cap). Refused, with
    /// <see cref="ConnectionTestStart.Limit"/> set, when <see cref="MediaOptions.MaxConnectionTests"/> run already, or
    /// <see cref="MediaOptions.MaxConnectionTestsPerAddress"/> from the caller's address (IPv4) or /64 (IPv6), or the
    /// offer is over a cap; refused without a limit when the offer is not usable.
    /// </summary>
    public ConnectionTestStart StartConnectionTest(string offerSdp, TimeSpan lifetime, IPAddress? client)
    {
        ArgumentNullException.ThrowIfNull(offerSdp);
        AddressRange? range = client is null ? null : AddressRange.Of(client);
        lock (_limitsLock)
        {
            if (_testCount >= _options.MaxConnectionTests)
            {
                RelayMetrics.LimitConnectionTests.Inc();
                return new ConnectionTestStart(null, "Too many connection tests are running; please try again in a minute.", MediaLimits.ConnectionTests);
            }

            var fromRange = 0;
            if (range is { } r && _testsPerRange.TryGetValue(r, out fromRange) && fromRange >= _options.MaxConnectionTestsPerAddress)
            {
                RelayMetrics.LimitConnectionTestsPerAddress.Inc();
                return new ConnectionTestStart(null, "A connection test from this network is running already; please wait until it ends.", MediaLimits.ConnectionTestsPerAddress);
            }

            _testCount++;
            if (range is { } reserved)
            {
                _testsPerRange[reserved] = fromRange + 1;
            }
        }

        var id = "check-" + Guid.NewGuid().ToString("N");
        var test = ConnectionTest.Create(_context.Value, id, offerSdp, lifetime, out var failure);
        if (test is null)
        {
            ReleaseConnectionTest(range);
            return new ConnectionTestStart(null, failure?.Error ?? "The offer cannot be used.", failure?.Limit);
        }

        test.ClientRange = range;
        _tests[id] = test;
        return new ConnectionTestStart(test, null, null);
    }

    public ConnectionTest? FindConnectionTest(string id) => _tests.TryGetValue(id, out var test) ? test : null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = _context.Value; // generate the certificate at start, not on the first join
        _housekeeping = _time.CreateTimer(_ => Housekeeping(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        LogAnnounced(AnnouncedAddresses);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _housekeeping?.Dispose();
        foreach (var router in _routers.Values)
        {
            router.Dispose();
        }

        foreach (var test in _tests.Values)
        {
            test.Dispose();
            if (_tests.TryRemove(test.Id, out _))
            {
                ReleaseConnectionTest(test.ClientRange);
            }
        }
    }

    private void ReleaseConnectionTest(AddressRange? range)
    {
        lock (_limitsLock)
        {
            _testCount--;
            if (range is { } r && _testsPerRange.TryGetValue(r, out var count))
            {
                if (count > 1)
                {
                    _testsPerRange[r] = count - 1;
                }
                else
                {
                    _testsPerRange.Remove(r);
                }
            }
        }
    }

    private void HousekeepTransports(TimeSpan consent, DateTimeOffset now)
    {
        foreach (var routing in _context.Value.Transports.Values)
        {
            var everChecked = routing.Transport.LastConsentTimestamp != 0;
            if (routing.Transport.CloseIfConsentExpired(consent))
            {
                LogConsentExpired(routing.Transport.Id, everChecked ? "since its last check" : "since it was made, never checked");
                continue;
            }

            // Sender and Receiver Reports, and the subscriber's simulcast layers (TransportRouting).
            routing.OnHousekeeping(now);
        }
    }

    /// <summary>One housekeeping pass; public to the tests so they can drive it with a fake clock.</summary>
    internal void Housekeeping()
    {
        try
        {
            var consent = TimeSpan.FromSeconds(_options.ConsentTimeoutSeconds);
            var now = _time.GetUtcNow();

            // Every transport's reports leave together, a few sendmmsg calls instead of one call each.
            _context.Value.Sockets.SendTogether((this, consent, now), static s => s.Item1.HousekeepTransports(s.consent, s.now));

            foreach (var router in _routers.Values)
            {
                router.UpdateActiveSpeaker();
            }

            _context.Value.RetransmissionBlocks.Trim(_context.Value.Clock.Now);

            foreach (var test in _tests.Values)
            {
                if (now >= test.ExpiresAt || test.IsClosed)
                {
                    test.Dispose();
                    if (_tests.TryRemove(test.Id, out _))
                    {
                        ReleaseConnectionTest(test.ClientRange);
                    }
                }
            }
        }
#pragma warning disable CA1031 // Housekeeping must keep running for every other peer.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogHousekeepingFailed(ex);
        }
    }

    /// <summary>README: the first non-loopback IPv4 address of this host, or 127.0.0.1 when there is none.</summary>
    private static string DefaultAnnouncedAddress()
    {
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                {
                    continue;
                }

                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    if (unicast.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(unicast.Address))
                    {
                        return unicast.Address.ToString();
                    }
                }
            }
        }
        catch (NetworkInformationException)
        {
        }

        return "127.0.0.1";
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Media relay announces {Addresses}")]
    private partial void LogAnnounced(IReadOnlyList<string> addresses);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Transport {TransportId} closed: no ICE consent {Since}")]
    private partial void LogConsentExpired(string transportId, string since);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Media housekeeping failed")]
    private partial void LogHousekeepingFailed(Exception exception);
}

/// <summary>The outcome of <see cref="MediaRelayService.StartConnectionTest(string, TimeSpan, IPAddress?)"/>.</summary>
/// <param name="Test">The running test, or null when refused.</param>
/// <param name="Error">Why it was refused, in words for the caller.</param>
/// <param name="Limit">The cap that refused it (a <see cref="MediaLimits"/> name), or null when the offer was not usable.</param>
public sealed record ConnectionTestStart(ConnectionTest? Test, string? Error, string? Limit);
