using System.Collections.Concurrent;

namespace Teletherapy.Scheduling.Outbox;

/// <summary>Why a channel takes no message at all for now.</summary>
internal static class OutboxUnavailableCauses
{
    /// <summary>The SMTP server does not answer (refused, timed out, dropped the connection, refused the sign-in).</summary>
    public const string Unreachable = "unreachable";

    /// <summary>The file system of the outbox folder has no space left (or the quota is used up).</summary>
    public const string DiskFull = "disk-full";

    /// <summary>The outbox folder cannot be written (permissions, read-only file system, I/O error).</summary>
    public const string NotWritable = "not-writable";
}

/// <summary>
/// Thrown by a transport when it cannot take any message now, whatever the message: the SMTP server is down, the
/// outbox folder's disk is full. The outbox sender then holds the whole channel (no attempt counted against the
/// messages, their order kept) and tries again with backoff, instead of failing each message on its own.
/// </summary>
internal sealed class OutboxUnavailableException : Exception
{
    public OutboxUnavailableException(string cause, Exception inner)
        : base($"Outbox transport unavailable: {cause} ({inner?.GetType().Name})", inner) => Cause = cause;

    public OutboxUnavailableException()
        : this(OutboxUnavailableCauses.Unreachable, new IOException())
    {
    }

    public OutboxUnavailableException(string message)
        : base(message) => Cause = OutboxUnavailableCauses.Unreachable;

    public string Cause { get; }

    /// <summary>ENOSPC and EDQUOT on Linux, ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL on Windows.</summary>
    internal static bool IsDiskFull(IOException exception)
    {
        var code = exception.HResult & 0xFFFF;
        return exception.HResult is 28 or 122 || code is 39 or 112;
    }
}

/// <summary>The channels the outbox sender holds because their transport is unavailable, for <c>/healthz</c> and tests.</summary>
public sealed class OutboxStatus
{
    private readonly ConcurrentDictionary<string, UnavailableChannel> _unavailable = new(StringComparer.Ordinal);

    /// <summary>Held channels: email or sms, with the cause and since when.</summary>
    public IReadOnlyList<UnavailableChannel> Unavailable => [.. _unavailable.Values.OrderBy(c => c.Channel, StringComparer.Ordinal)];

    internal void Hold(string channel, string cause, DateTimeOffset now) =>
        _unavailable.AddOrUpdate(channel, _ => new UnavailableChannel(channel, cause, now), (_, held) => held with { Cause = cause });

    internal bool Release(string channel) => _unavailable.TryRemove(channel, out _);

    /// <summary>Messages not yet delivered, as the sender last counted them (<c>teletherapy_outbox_pending</c>).</summary>
    internal long Pending { get; set; }

    /// <summary>How long the oldest due message has waited, as the sender last looked (<c>teletherapy_outbox_oldest_pending_seconds</c>).</summary>
    internal TimeSpan OldestPendingAge { get; set; }
}

/// <summary>A channel whose transport takes no message now.</summary>
public sealed record UnavailableChannel(string Channel, string Cause, DateTimeOffset Since);
