using System.Text;
using MimeKit;

namespace Teletherapy.Scheduling.Outbox;

/// <summary>
/// Writes messages to <c>$TELETHERAPY_DATA/outbox/</c> when no SMTP server or SMS gateway is configured. Each file is
/// named after the outbox message id and written to a temporary file first, then renamed over the final name: a crash
/// never leaves half a file, and a repeat after a crash replaces the file instead of adding a second one.
/// </summary>
/// <remarks>
/// The files are the delivered messages, live links included, so they are kept only for
/// <see cref="NotificationOptions.OutboxFileRetention"/> (<see cref="Prune"/>). A file's last-write time is set to the
/// delivery time by the outbox's clock, so its age is measured on the same clock as everything else.
/// </remarks>
internal static class OutboxFolder
{
    /// <summary>Patterns of what this folder holds: messages, and the temporary files of writes a crash interrupted.</summary>
    private static readonly string[] Patterns = ["*.eml", "*.sms.txt", ".*.tmp"];

    public static async Task WriteAsync(string folder, string fileName, DateTimeOffset writtenAt, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var final = Path.Combine(folder, fileName);
        var temporary = Path.Combine(folder, $".{fileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.SetLastWriteTimeUtc(temporary, writtenAt.UtcDateTime);
            File.Move(temporary, final, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Deletes the messages (and leftover temporary files) last written before <paramref name="cutoff"/>; returns how many.</summary>
    public static int Prune(string folder, DateTimeOffset cutoff)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        var deleted = 0;
        foreach (var pattern in Patterns)
        {
            foreach (var path in Directory.EnumerateFiles(folder, pattern))
            {
                try
                {
                    if (File.GetLastWriteTimeUtc(path) < cutoff.UtcDateTime)
                    {
                        File.Delete(path);
                        deleted++;
                    }
                }
                catch (IOException)
                {
                    // Being replaced by a repeat delivery right now: its new copy is young, the next pass decides.
                }
                catch (UnauthorizedAccessException)
                {
                    // Not ours to delete (an operator's file); left alone.
                }
            }
        }

        return deleted;
    }
}

/// <summary>Delivers an email: SMTP, or a file in the outbox folder.</summary>
internal interface IMailTransport
{
    Task DeliverAsync(Guid messageId, MimeMessage message, CancellationToken cancellationToken);
}

/// <summary>Writes <c>outbox/&lt;id&gt;.eml</c>.</summary>
internal sealed class PickupFolderMailTransport(SchedulingOptions options, TimeProvider time) : IMailTransport
{
    public Task DeliverAsync(Guid messageId, MimeMessage message, CancellationToken cancellationToken) =>
        OutboxFolder.WriteAsync(options.OutboxFolder, $"{messageId:D}.eml", time.GetUtcNow(), (stream, ct) => message.WriteToAsync(stream, ct), cancellationToken);
}

/// <summary>The default <see cref="ISmsSender"/>: writes <c>outbox/&lt;id&gt;.sms.txt</c>.</summary>
internal sealed class OutboxFolderSmsSender(SchedulingOptions options, TimeProvider time) : ISmsSender
{
    public Task SendAsync(SmsMessage message, CancellationToken cancellationToken) =>
        OutboxFolder.WriteAsync(
            options.OutboxFolder,
            $"{message.Id:D}.sms.txt",
            time.GetUtcNow(),
            (stream, ct) => stream.WriteAsync(Encoding.UTF8.GetBytes($"To: {message.To}\n\n{message.Text}\n"), ct).AsTask(),
            cancellationToken);
}
