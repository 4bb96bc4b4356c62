using System.Text;
using MimeKit;

namespace Teletherapy.Scheduling.Outbox;

/// <summary>
/// Writes messages to <c>$TELETHERAPY_DATA/outbox/</c> when no SMTP server or SMS gateway is configured. Each file is
/// named after the outbox message id and written to a temporary file first, then renamed over the final name: a crash
/// never leaves half a file, and a repeat after a crash replaces the file instead of adding a second one.
/// </summary>
/// <remarks>
/// The files are the delivered messages, live links included, so the outbox sender deletes them after
/// <see cref="NotificationOptions.OutboxFileRetention"/> (see <see cref="OutboxSender.PruneOutboxFolderAsync"/>).
/// </remarks>
internal static class OutboxFolder
{
    private const string EmailSuffix = ".eml";
    private const string SmsSuffix = ".sms.txt";

    /// <summary>Patterns of what this folder holds: messages, and the temporary files of writes a crash interrupted.</summary>
    private static readonly string[] Patterns = ["*" + EmailSuffix, "*" + SmsSuffix, ".*.tmp"];

    public static async Task WriteAsync(string folder, string fileName, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var final = Path.Combine(folder, fileName);
        var temporary = Path.Combine(folder, $".{fileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(folder);
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, final, overwrite: true);
        }
        catch (IOException ex) when (OutboxUnavailableException.IsDiskFull(ex))
        {
            // Every message would fail the same way: the sender holds the channel until there is space again.
            throw new OutboxUnavailableException(OutboxUnavailableCauses.DiskFull, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new OutboxUnavailableException(OutboxUnavailableCauses.NotWritable, ex);
        }
        finally
        {
            // A write the disk stopped leaves no half file behind.
            TryDelete(temporary);
        }
    }

    /// <summary>The files this folder holds, each with the outbox message id it is named after (null for a leftover temporary file or a stranger's name).</summary>
    public static IReadOnlyList<(string Path, Guid? MessageId)> Files(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var files = new List<(string, Guid?)>();
        foreach (var pattern in Patterns)
        {
            foreach (var path in Directory.EnumerateFiles(folder, pattern))
            {
                var name = Path.GetFileName(path);
                var stem = name.EndsWith(SmsSuffix, StringComparison.Ordinal) ? name[..^SmsSuffix.Length]
                    : name.EndsWith(EmailSuffix, StringComparison.Ordinal) ? name[..^EmailSuffix.Length]
                    : null;
                files.Add((path, Guid.TryParseExact(stem, "D", out var id) ? id : null));
            }
        }

        return files;
    }

    /// <summary>Deletes a file; false when it is gone already or cannot be deleted now (the next pass tries again).</summary>
    public static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>Delivers an email: SMTP, or a file in the outbox folder.</summary>
internal interface IMailTransport
{
    Task DeliverAsync(Guid messageId, MimeMessage message, CancellationToken cancellationToken);
}

/// <summary>Writes <c>outbox/&lt;id&gt;.eml</c>.</summary>
internal sealed class PickupFolderMailTransport(SchedulingOptions options) : IMailTransport
{
    public Task DeliverAsync(Guid messageId, MimeMessage message, CancellationToken cancellationToken) =>
        OutboxFolder.WriteAsync(options.OutboxFolder, $"{messageId:D}.eml", (stream, ct) => message.WriteToAsync(stream, ct), cancellationToken);
}

/// <summary>The default <see cref="ISmsSender"/>: writes <c>outbox/&lt;id&gt;.sms.txt</c>.</summary>
internal sealed class OutboxFolderSmsSender(SchedulingOptions options) : ISmsSender
{
    public Task SendAsync(SmsMessage message, CancellationToken cancellationToken) =>
        OutboxFolder.WriteAsync(
            options.OutboxFolder,
            $"{message.Id:D}.sms.txt",
            (stream, ct) => stream.WriteAsync(Encoding.UTF8.GetBytes($"To: {message.To}\n\n{message.Text}\n"), ct).AsTask(),
            cancellationToken);
}
