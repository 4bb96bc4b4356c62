using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay;

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
    private ITimer? _housekeeping;

    public MediaRelayService(MediaSockets sockets, IOptions<MediaOptions> options, TimeProvider time, ILogger<MediaRelayService> logger)
    {
        _sockets = sockets;
        _options = options.Value;
        _time = time;
        _logger = logger;
        IReadOnlyList<string> announced = _options.AnnouncedAddresses.Count > 0 ? [.. _options.AnnouncedAddresses] : [DefaultAnnouncedAddress()];
        AnnouncedAddresses = announced;
        _context = new Lazy<RelayContext>(() => new RelayContext(_sockets, DtlsCertificate.Generate(), announced, _time));
    }

    /// <summary>The addresses put into ICE candidates.</summary>
    public IReadOnlyList<string> AnnouncedAddresses { get; }

    /// <summary>Live routers (sessions with media).</summary>
    public int RouterCount => _routers.Count;

    public Router GetOrCreateRouter(string id) =>
        _routers.GetOrAdd(id, key => new Router(key, _context.Value, r => _routers.TryRemove(r.Id, out _)));

    /// <summary>Live peer transports of every router and connection test (tests check that closing frees them).</summary>
    internal int TransportCount => _context.Value.Transports.Count;

    public Router? FindRouter(string id) => _routers.TryGetValue(id, out var router) ? router : null;

    /// <summary>
    /// Starts a connection test from the browser's offer; the relay sends the browser's own audio and video back.
    /// Returns null with the reason when the offer cannot be used.
    /// </summary>
    public ConnectionTest? StartConnectionTest(string offerSdp, TimeSpan lifetime, out string? error)
    {
        var id = "check-" + Guid.NewGuid().ToString("N");
        var test = ConnectionTest.Create(_context.Value, id, offerSdp, lifetime, out error);
        if (test is not null)
        {
            _tests[id] = test;
        }

        return test;
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
        }

        _tests.Clear();
    }

    /// <summary>One housekeeping pass; public to the tests so they can drive it with a fake clock.</summary>
    internal void Housekeeping()
    {
        try
        {
            var consent = TimeSpan.FromSeconds(_options.ConsentTimeoutSeconds);
            var now = _time.GetUtcNow();
            foreach (var routing in _context.Value.Transports.Values)
            {
                if (routing.Transport.CloseIfConsentExpired(consent))
                {
                    LogConsentExpired(routing.Transport.Id);
                    continue;
                }

                // Sender and Receiver Reports, and the subscriber's simulcast layers (TransportRouting).
                routing.OnHousekeeping(now);
            }

            foreach (var router in _routers.Values)
            {
                router.UpdateActiveSpeaker();
            }

            foreach (var test in _tests.Values)
            {
                if (now >= test.ExpiresAt || test.IsClosed)
                {
                    test.Dispose();
                    _tests.TryRemove(test.Id, out _);
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

    /// <summary>api.md: the first non-loopback IPv4 address of this host, or 127.0.0.1 when there is none.</summary>
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

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Transport {TransportId} closed: no ICE consent")]
    private partial void LogConsentExpired(string transportId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Media housekeeping failed")]
    private partial void LogHousekeepingFailed(Exception exception);
}
