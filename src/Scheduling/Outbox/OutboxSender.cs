using Teletherapy.Scheduling.Join;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Outbox;

/// <summary>
/// Delivers outbox messages: claims due rows (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>, so several server
/// processes share the work; SQLite: one atomic claim update), delivers each, and records it as sent. A failure is
/// retried with exponential backoff. A claim is a lease: if this process dies after claiming, another takes the
/// message over once the lease runs out.
/// </summary>
/// <remarks>
/// Exactly once: a message is marked sent only by the claim that delivered it. For <c>.eml</c> and <c>.sms.txt</c>
/// files, a repeat after a crash between delivering and marking rewrites the same file (named by message id), so the
/// result is one file. Over SMTP that window cannot be closed by any sender alone; the stable <c>Message-Id</c> lets the
/// receiving side recognise the repeat.
/// <para>
/// Links are not kept: the update that marks a message sent (or given up, or too late) also empties its stored payload,
/// which held the join or portal link in clear text. The stronger alternative — store the payload without the link and
/// mint the token only at send time — does not fit what a link is here: it is issued in the same transaction as the
/// change that causes the message (so a reschedule or cancel revokes it atomically, the API and the demo hand the token
/// out, a contact's link exists as soon as the appointment does), and a repeat delivery after a crash between
/// delivering and marking must carry the same token as the first copy, so a token minted at send time would have to be
/// stored until the message is marked anyway. So the token lives in the row only while the message is undelivered
/// (normally a few seconds), in one column of one row, and is gone from the database the moment delivery is recorded;
/// the whole body goes rather than a pattern-scrubbed copy, because the link also sits base64-encoded and
/// line-folded in the calendar attachment, where scrubbing by pattern is fragile, and nothing reads a sent body
/// (the emails list shows kind, recipient and times). On SQLite, deleted content is zeroed (<c>secure_delete</c>) and
/// the write-ahead log is truncated after a pass that finished messages, so the old row versions do not linger in the
/// database files either. Pickup files are pruned after <see cref="NotificationOptions.OutboxFileRetention"/>.
/// </para>
/// </remarks>
internal sealed partial class OutboxSender(
    Database database,
    IMailTransport mail,
    ISmsSender sms,
    OutboxSignal signal,
    TimeProvider time,
    IOptions<NotificationOptions> options,
    SchedulingOptions storage,
    ILogger<OutboxSender> logger,
    OutboxStatus? status = null) : BackgroundService
{
    private readonly OutboxStatus status = status ?? new OutboxStatus();

    private const int BatchSize = 20;

    /// <summary>The outbox folder is looked at for expired files at most this often.</summary>
    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);

    /// <summary>What the update that finishes a message sets besides its state: the stored body (with its links) goes.</summary>
    private const string ForgetPayload = "payload = ''";

    private DateTimeOffset _nextPruneAt = DateTimeOffset.MinValue;
    private int _checkpointDue;

    private static readonly Gauge Pending = Metrics.CreateGauge(
        "teletherapy_outbox_pending", "Outbox messages not yet delivered (including those waiting for a retry).");

    private static readonly Counter Attempts = Metrics.CreateCounter(
        "teletherapy_outbox_deliveries_total", "Delivery attempts of outbox messages, by result: sent, retry (failed, tried again later), given-up, refused (an SMS with a link, R9), unavailable (the transport took no message: the channel is held, the message keeps its place).", "result");

    private static readonly Gauge OldestPending = Metrics.CreateGauge(
        "teletherapy_outbox_oldest_pending_seconds", "Age of the oldest outbox message that is due and not yet delivered (0 when none): how far behind delivery is.");

    private static readonly Gauge ChannelUnavailable = Metrics.CreateGauge(
        "teletherapy_outbox_unavailable", "1 while a channel's transport takes no message (SMTP server down, outbox folder full) and the sender holds it, by channel: email, sms.", "channel");

    private static readonly Counter UnavailableEvents = Metrics.CreateCounter(
        "teletherapy_outbox_unavailable_total", "Tries that found a channel's transport unavailable, by channel and cause: unreachable, disk-full, not-writable.", "channel", "cause");

    /// <summary>Per channel: until when it is held, and how many tries in a row found it unavailable.</summary>
    private readonly Dictionary<string, (DateTimeOffset Until, int Failures)> _held = new(StringComparer.Ordinal);
    private readonly Lock _heldLock = new();

    /// <summary>Test seam: runs after a message was delivered and before it is marked sent (a throw simulates a crash there).</summary>
    internal Func<Guid, Task>? AfterDeliverBeforeMark { get; set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = signal.WaitAsync();
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogPassFailed(ex);
            }

            try
            {
                await Task.WhenAny(wake, Task.Delay(options.Value.OutboxPollInterval, time, stoppingToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Delivers every message that is due now; returns how many were delivered.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await PruneOutboxFolderAsync(cancellationToken).ConfigureAwait(false);
        var delivered = 0;
        while (true)
        {
            var claimToken = Guid.NewGuid();
            var batch = await ClaimAsync(claimToken, cancellationToken).ConfigureAwait(false);
            if (batch.Count > 0)
            {
                Volatile.Write(ref _checkpointDue, 1);
            }

            foreach (var message in batch)
            {
                if (await ProcessAsync(message, claimToken, cancellationToken).ConfigureAwait(false))
                {
                    delivered++;
                }
            }

            if (batch.Count < BatchSize)
            {
                break;
            }
        }

        await UpdatePendingGaugeAsync(cancellationToken).ConfigureAwait(false);
        await TruncateWriteAheadLogAsync(cancellationToken).ConfigureAwait(false);
        return delivered;
    }

    /// <summary>
    /// Deletes the outbox folder's files once <see cref="NotificationOptions.OutboxFileRetention"/> has passed since
    /// their message was delivered, as the outbox recorded it (<c>sent_at</c>, on this sender's clock); looks at most
    /// once per <see cref="PruneInterval"/>. A file whose message is not marked sent yet (a repeat after a crash is
    /// due) stays. A file the outbox has no record of (a leftover temporary file, a database started afresh) is aged by
    /// its modification time, which is on the file system's clock, so it is compared with the system clock.
    /// </summary>
    internal async Task<int> PruneOutboxFolderAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var retention = options.Value.OutboxFileRetention;
        if (retention <= TimeSpan.Zero || now < _nextPruneAt)
        {
            return 0;
        }

        _nextPruneAt = now + PruneInterval;
        var files = OutboxFolder.Files(storage.OutboxFolder);
        if (files.Count == 0)
        {
            return 0;
        }

        var deleted = 0;
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (path, messageId) in files)
        {
            var record = messageId is { } id
                ? await connection.QuerySingleOrDefaultAsync<DeliveryRecord>("SELECT sent_at FROM outbox_messages WHERE id = @id", new { id }).ConfigureAwait(false)
                : null;
            var expired = record is not null
                ? record.SentAt is { } sentAt && sentAt <= now - retention
                : File.GetLastWriteTimeUtc(path) <= (TimeProvider.System.GetUtcNow() - retention).UtcDateTime;
            if (expired && OutboxFolder.TryDelete(path))
            {
                deleted++;
            }
        }

        if (deleted > 0)
        {
            LogPruned(deleted, retention.TotalDays);
        }

        return deleted;
    }

    /// <summary>
    /// SQLite keeps earlier versions of changed pages in the write-ahead log until it is reused; after a pass that
    /// finished messages (their payloads emptied), the log is checkpointed and cut to zero bytes so the old payloads
    /// are gone from disk too. Best effort: while another connection reads, it is tried again after the next pass.
    /// </summary>
    private async Task TruncateWriteAheadLogAsync(CancellationToken cancellationToken)
    {
        if (database.Dialect != SqlDialect.Sqlite || Volatile.Read(ref _checkpointDue) == 0)
        {
            return;
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var result = await connection.QuerySingleAsync<CheckpointResult>("PRAGMA wal_checkpoint(TRUNCATE)").ConfigureAwait(false);
        if (result.Busy == 0)
        {
            Volatile.Write(ref _checkpointDue, 0);
        }
    }

    private async Task<List<ClaimedMessage>> ClaimAsync(Guid claimToken, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // Held channels are left alone until their next try (the names are this class's constants, not input).
        var held = HeldChannels(now);
        var notHeld = held.Count == 0 ? "" : $"AND channel NOT IN ({string.Join(", ", held.Select(c => $"'{c}'"))})";
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var sql = $"""
            UPDATE outbox_messages
            SET claim_token = @claimToken, claimed_until = @until, attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM outbox_messages
                WHERE sent_at IS NULL AND discarded_at IS NULL AND not_before <= @now
                  AND (claimed_until IS NULL OR claimed_until <= @now)
                  {notHeld}
                ORDER BY not_before, id
                LIMIT @batch
                {database.Dialect.SkipLocked()})
            RETURNING id, channel, kind, recipient, payload, discard_after, attempts, not_before
            """;
        var rows = await connection.QueryAsync<ClaimedMessage>(
            sql, new { claimToken, until = now + options.Value.ClaimLease, now, batch = BatchSize }).ConfigureAwait(false);
        // RETURNING gives no order (PostgreSQL returns the rows as it updated them): delivery goes by due time, oldest first.
        return [.. rows.OrderBy(r => r.NotBefore)];
    }

    private async Task<bool> ProcessAsync(ClaimedMessage message, Guid claimToken, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (message.DiscardAfter is { } discardAfter && now >= discardAfter)
        {
            // A reminder that could not go out before the appointment started is no longer useful.
            await FinishAsync($"discarded_at = @now, last_error = 'too late', {ForgetPayload}", message.Id, claimToken, now, null, cancellationToken).ConfigureAwait(false);
            LogDiscarded(message.Id, message.Kind);
            return false;
        }

        if (message.Channel == OutboxChannels.Sms && !JoinPolicy.IsFreeOfLinks(message.Payload))
        {
            // R9, checked where the text leaves: whatever wrote it, a link never goes out by SMS (nor is it retried).
            await FinishAsync($"discarded_at = @now, last_error = 'R9: a text message may not carry a link', {ForgetPayload}", message.Id, claimToken, now, null, cancellationToken).ConfigureAwait(false);
            LogSmsWithLinkRefused(message.Id, message.Kind);
            Attempts.WithLabels("refused").Inc();
            return false;
        }

        if (IsHeld(message.Channel, now))
        {
            // An earlier message of this batch found the transport unavailable: this one keeps its place too.
            await ReleaseAsync(message, claimToken, null, cancellationToken).ConfigureAwait(false);
            return false;
        }

        try
        {
            if (message.Channel == OutboxChannels.Sms)
            {
                await sms.SendAsync(new SmsMessage(message.Id, message.Recipient, message.Payload), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await mail.DeliverAsync(message.Id, OutboxWriter.Deserialize(message.Payload), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OutboxUnavailableException ex)
        {
            var (delay, failures) = Hold(message.Channel, ex.Cause, now);
            await ReleaseAsync(message, claimToken, $"unavailable: {ex.Cause} ({ex.InnerException?.GetType().Name})", cancellationToken).ConfigureAwait(false);
            Attempts.WithLabels("unavailable").Inc();
            UnavailableEvents.WithLabels(message.Channel, ex.Cause).Inc();
            LogChannelUnavailable(message.Channel, ex.Cause, ex.InnerException?.GetType().Name ?? nameof(OutboxUnavailableException), failures, delay.TotalSeconds, OutboxFolderOf(ex));
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var giveUp = message.Attempts >= options.Value.MaxAttempts;
            var delay = RetryDelay(message.Attempts);
            var error = $"{ex.GetType().Name}: {ex.Message}";
            if (error.Length > 500)
            {
                error = error[..500];
            }

            await FinishAsync(
                giveUp ? $"discarded_at = @now, last_error = @error, {ForgetPayload}" : "not_before = @next, last_error = @error",
                message.Id, claimToken, now, new { error, next = now + delay }, cancellationToken).ConfigureAwait(false);
            LogDeliveryFailed(message.Id, message.Channel, message.Attempts, giveUp, ex.GetType().Name);
            Attempts.WithLabels(giveUp ? "given-up" : "retry").Inc();
            return false;
        }

        if (AfterDeliverBeforeMark is { } seam)
        {
            await seam(message.Id).ConfigureAwait(false);
        }

        await FinishAsync($"sent_at = @now, last_error = NULL, {ForgetPayload}", message.Id, claimToken, time.GetUtcNow(), null, CancellationToken.None).ConfigureAwait(false);
        Available(message.Channel);
        LogDelivered(message.Id, message.Channel, message.Kind);
        Attempts.WithLabels("sent").Inc();
        return true;
    }

    /// <summary>
    /// Holds the channel after its transport was found unavailable: the next try is after the first retry delay,
    /// doubled per unavailable try in a row, capped at <see cref="NotificationOptions.UnavailableRetryMaxDelay"/>.
    /// </summary>
    private (TimeSpan Delay, int Failures) Hold(string channel, string cause, DateTimeOffset now)
    {
        lock (_heldLock)
        {
            var failures = (_held.TryGetValue(channel, out var held) ? held.Failures : 0) + 1;
            var first = options.Value.FirstRetryDelay;
            var factor = Math.Pow(2, Math.Clamp(failures - 1, 0, 30));
            var delay = TimeSpan.FromTicks((long)Math.Min(first.Ticks * factor, options.Value.UnavailableRetryMaxDelay.Ticks));
            _held[channel] = (now + delay, failures);
            status.Hold(channel, cause, now);
            ChannelUnavailable.WithLabels(channel).Set(1);
            return (delay, failures);
        }
    }

    private void Available(string channel)
    {
        lock (_heldLock)
        {
            if (_held.Remove(channel, out var held))
            {
                status.Release(channel);
                ChannelUnavailable.WithLabels(channel).Set(0);
                LogChannelAvailable(channel, held.Failures);
            }
        }
    }

    private bool IsHeld(string channel, DateTimeOffset now)
    {
        lock (_heldLock)
        {
            return _held.TryGetValue(channel, out var held) && now < held.Until;
        }
    }

    private List<string> HeldChannels(DateTimeOffset now)
    {
        lock (_heldLock)
        {
            return [.. _held.Where(h => now < h.Value.Until).Select(h => h.Key)];
        }
    }

    /// <summary>The outbox folder's path when the folder is what failed (it is no patient data; an SMTP failure names no path).</summary>
    private string OutboxFolderOf(OutboxUnavailableException ex) =>
        ex.Cause is OutboxUnavailableCauses.DiskFull or OutboxUnavailableCauses.NotWritable ? storage.OutboxFolder : "-";

    /// <summary>Gives a claimed message back untried (its attempt not counted, its due time kept, so it keeps its place in the order).</summary>
    private async Task ReleaseAsync(ClaimedMessage message, Guid claimToken, string? error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            error is null
                ? "UPDATE outbox_messages SET attempts = attempts - 1, claim_token = NULL, claimed_until = NULL WHERE id = @id AND claim_token = @claimToken"
                : "UPDATE outbox_messages SET attempts = attempts - 1, last_error = @error, claim_token = NULL, claimed_until = NULL WHERE id = @id AND claim_token = @claimToken",
            new { id = message.Id, claimToken, error }).ConfigureAwait(false);
    }

    /// <summary>Exponential backoff: first delay, doubled per failed attempt, capped.</summary>
    internal TimeSpan RetryDelay(int attempts)
    {
        var first = options.Value.FirstRetryDelay;
        var factor = Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        var delay = TimeSpan.FromTicks((long)Math.Min(first.Ticks * factor, options.Value.MaxRetryDelay.Ticks));
        return delay;
    }

    private async Task FinishAsync(string set, Guid id, Guid claimToken, DateTimeOffset now, object? extra, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var parameters = new DynamicParameters(extra);
        parameters.AddDynamicParams(new { id, claimToken, now });
        // Only the holder of the claim may finish the message: a sender whose lease ran out cannot overwrite a newer claim.
        await connection.ExecuteAsync(
            $"UPDATE outbox_messages SET {set}, claim_token = NULL, claimed_until = NULL WHERE id = @id AND claim_token = @claimToken",
            parameters).ConfigureAwait(false);
    }

    private async Task UpdatePendingGaugeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var pending = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM outbox_messages WHERE sent_at IS NULL AND discarded_at IS NULL").ConfigureAwait(false);
        Pending.Set(pending);
        status.Pending = pending;
        var now = time.GetUtcNow();
        var oldest = await connection.QuerySingleAsync<OldestDue>(
            "SELECT MIN(not_before) AS not_before FROM outbox_messages WHERE sent_at IS NULL AND discarded_at IS NULL AND not_before <= @now",
            new { now }).ConfigureAwait(false);
        status.OldestPendingAge = oldest.NotBefore is { } due && due < now ? now - due : TimeSpan.Zero;
        OldestPending.Set(status.OldestPendingAge.TotalSeconds);
    }

    private sealed class OldestDue
    {
        public DateTimeOffset? NotBefore { get; set; }
    }

    private sealed class DeliveryRecord
    {
        public DateTimeOffset? SentAt { get; set; }
    }

    private sealed class CheckpointResult
    {
        public long Busy { get; set; }

        public long Log { get; set; }

        public long Checkpointed { get; set; }
    }

    private sealed class ClaimedMessage
    {
        public Guid Id { get; set; }

        public string Channel { get; set; } = "";

        public string Kind { get; set; } = "";

        public string Recipient { get; set; } = "";

        public string Payload { get; set; } = "";

        public DateTimeOffset? DiscardAfter { get; set; }

        public int Attempts { get; set; }

        public DateTimeOffset NotBefore { get; set; }
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Outbox message {MessageId} ({Channel}, {Kind}) delivered")]
    private partial void LogDelivered(Guid messageId, string channel, string kind);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Outbox message {MessageId} ({Channel}) failed on attempt {Attempt}; given up: {GivenUp}; error type {ErrorType}")]
    private partial void LogDeliveryFailed(Guid messageId, string channel, int attempt, bool givenUp, string errorType);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Outbox message {MessageId} ({Kind}) discarded: the appointment has started")]
    private partial void LogDiscarded(Guid messageId, string kind);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "Outbox message {MessageId} ({Kind}) refused: a text message carried a link (R9); it was not sent")]
    private partial void LogSmsWithLinkRefused(Guid messageId, string kind);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Deleted {Count} outbox files older than {Days} days")]
    private partial void LogPruned(int count, double days);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Outbox {Channel} transport unavailable ({Cause}, error type {ErrorType}, folder {Folder}); try {Failures} in a row; the channel is held and tried again in {DelaySeconds} s, no message is lost")]
    private partial void LogChannelUnavailable(string channel, string cause, string errorType, int failures, double delaySeconds, string folder);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Information, Message = "Outbox {Channel} transport available again after {Failures} unavailable tries; delivering the waiting messages in order")]
    private partial void LogChannelAvailable(string channel, int failures);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "Outbox pass failed")]
    private partial void LogPassFailed(Exception exception);
}
