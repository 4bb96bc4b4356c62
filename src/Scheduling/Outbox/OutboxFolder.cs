using System.Text;
using MimeKit;

namespace Teletherapy.Scheduling.Outbox;

/// <summary>
/// Writes messages to <c>$TELETHERAPY_DATA/outbox/</c> when no SMTP server or SMS gateway is configured. Each file is
/// named after the outbox message id and written to a temporary file first, then renamed over the final name: a crash
/// never leaves half a file, and a repeat after a crash replaces the file instead of adding a second one.
/// </summary>
internal static class OutboxFolder
{
    public static async Task WriteAsync(string folder, string fileName, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
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
