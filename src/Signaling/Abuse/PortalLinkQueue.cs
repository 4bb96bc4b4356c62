using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Portal;

namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// Portal sign-in link requests are answered at once and handled in the background, so the answer takes the same
/// time whether or not the address is a contact's. At most <see cref="ThrottlingOptions.PortalLinksPerEmailPerHour"/>
/// links go to one address an hour (the rest are dropped silently: nobody can mail-bomb a patient through us).
/// </summary>
internal sealed partial class PortalLinkQueue : BackgroundService
{
    private readonly Channel<string> _requests = Channel.CreateBounded<string>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly ConcurrentDictionary<string, Sent> _sent = new(StringComparer.Ordinal);
    private readonly PortalSignIn _signIn;
    private readonly TimeProvider _time;
    private readonly ThrottlingOptions _options;
    private readonly ILogger<PortalLinkQueue> _logger;

    public PortalLinkQueue(PortalSignIn signIn, TimeProvider time, IOptions<ThrottlingOptions> options, ILogger<PortalLinkQueue> logger)
    {
        _signIn = signIn;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Queues a request; false (counted) when the queue is full.</summary>
    public bool Enqueue(string email)
    {
        if (_requests.Writer.TryWrite(email.Trim().ToLowerInvariant()))
        {
            return true;
        }

        Throttling.LimitsHit.WithLabels("portal-link-queue").Inc();
        return false;
    }

    /// <summary>Whether one more link may go to this address now; counts it when so.</summary>
    internal bool MaySend(string email)
    {
        var now = _time.GetUtcNow();
        if (_sent.Count > 10_000)
        {
            foreach (var (key, sent) in _sent)
            {
                if (now - sent.Since >= TimeSpan.FromHours(1))
                {
                    _sent.TryRemove(key, out _);
                }
            }
        }

        var updated = _sent.AddOrUpdate(email, _ => new Sent(1, now), (_, old) => now - old.Since >= TimeSpan.FromHours(1) ? new Sent(1, now) : old with { Count = old.Count + 1 });
        return updated.Count <= _options.PortalLinksPerEmailPerHour;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var email in _requests.Reader.ReadAllAsync(stoppingToken))
        {
            if (!MaySend(email))
            {
                Throttling.LimitsHit.WithLabels("portal-link-per-email").Inc();
                continue;
            }

            try
            {
                await _signIn.RequestLinkAsync(email, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(e);
            }
        }
    }

    [LoggerMessage(EventId = 2710, Level = LogLevel.Error, Message = "A portal sign-in link request could not be handled")]
    private partial void LogFailed(Exception exception);

    private readonly record struct Sent(int Count, DateTimeOffset Since);
}
