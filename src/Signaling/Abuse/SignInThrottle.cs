using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// Staff sign-in protection beside the per-client limit: an account that keeps getting wrong passwords must wait
/// longer and longer and is then locked for a while (<see cref="WaitAfter"/>), refused before any password hash is
/// computed; and password hashes (deliberately slow) run one at a time, so a flood of sign-ins from many addresses
/// takes at most one core from the media. Known and unknown emails are treated alike.
/// </summary>
internal sealed class SignInThrottle : IDisposable
{
    /// <summary>Failures forgotten after this long without another one.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromHours(1);

    /// <summary>The lockout after <see cref="LockoutFailures"/> failures in a row.</summary>
    public static readonly TimeSpan Lockout = TimeSpan.FromMinutes(15);

    public const int FreeFailures = 3;
    public const int LockoutFailures = 10;
    private const int TrackedAccounts = 100_000;

    private readonly ConcurrentDictionary<string, Failures> _accounts = new(StringComparer.Ordinal);
    private readonly ConcurrencyLimiter _hashing = new(new ConcurrencyLimiterOptions { PermitLimit = 1, QueueLimit = 16, QueueProcessingOrder = QueueProcessingOrder.OldestFirst });
    private readonly TimeProvider _time;

    public SignInThrottle(TimeProvider time) => _time = time;

    /// <summary>
    /// How long an account must wait after <paramref name="failures"/> wrong passwords in a row before the next try:
    /// nothing for the first three, then 2, 4, 8 … 64 seconds, and <see cref="Lockout"/> from the tenth on.
    /// </summary>
    public static TimeSpan WaitAfter(int failures) => failures switch
    {
        <= FreeFailures => TimeSpan.Zero,
        < LockoutFailures => TimeSpan.FromSeconds(1 << (failures - FreeFailures)),
        _ => Lockout,
    };

    /// <summary>When the account may try again, or null when it may now. Cheap: no hash.</summary>
    public TimeSpan? RetryAfter(string? email)
    {
        if (Key(email) is not { } key || !_accounts.TryGetValue(key, out var failures))
        {
            return null;
        }

        var now = _time.GetUtcNow();
        var until = failures.Last + WaitAfter(failures.Count);
        return now < until ? until - now : null;
    }

    /// <summary>Records a wrong password; returns true when this failure locks the account.</summary>
    public bool Failed(string? email)
    {
        if (Key(email) is not { } key)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        if (_accounts.Count >= TrackedAccounts)
        {
            Prune(now);
        }

        var updated = _accounts.AddOrUpdate(
            key,
            _ => new Failures(1, now),
            (_, old) => new Failures(now - old.Last > Memory ? 1 : old.Count + 1, now));
        return updated.Count == LockoutFailures;
    }

    public void Succeeded(string? email)
    {
        if (Key(email) is { } key)
        {
            _accounts.TryRemove(key, out _);
        }
    }

    /// <summary>A turn at the password hash, or a failed lease when too many wait already.</summary>
    public ValueTask<RateLimitLease> HashTurnAsync(CancellationToken cancellationToken) => _hashing.AcquireAsync(1, cancellationToken);

    public void Dispose() => _hashing.Dispose();

    private static string? Key(string? email) =>
        email?.Trim() is { Length: > 0 and <= 254 } trimmed ? trimmed.ToLowerInvariant() : null;

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, failures) in _accounts)
        {
            if (now - failures.Last > Memory || _accounts.Count > TrackedAccounts * 9 / 10)
            {
                _accounts.TryRemove(key, out _);
            }
        }
    }

    private readonly record struct Failures(int Count, DateTimeOffset Last);
}
