using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Teletherapy.Scheduling.Outbox;

/// <summary>Sends through the configured SMTP server with MailKit, one connection per message.</summary>
internal sealed class SmtpMailTransport(IOptions<SmtpOptions> options) : IMailTransport
{
    public async Task DeliverAsync(Guid messageId, MimeMessage message, CancellationToken cancellationToken)
    {
        var smtp = options.Value;
        using var client = new SmtpClient { Timeout = smtp.TimeoutSeconds * 1000 };
        var security = smtp.UseTls
            ? (smtp.Port == 465 ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls)
            : SecureSocketOptions.StartTlsWhenAvailable;
        try
        {
            await client.ConnectAsync(smtp.Host!, smtp.Port, security, cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(smtp.Username))
            {
                await client.AuthenticateAsync(smtp.Username, smtp.Password ?? string.Empty, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not this message's fault: no message gets through until the server answers (and accepts the sign-in).
            throw new OutboxUnavailableException(OutboxUnavailableCauses.Unreachable, ex);
        }

        try
        {
            await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or SmtpProtocolException or ServiceNotConnectedException
                                   || ex is SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable })
        {
            // The connection went away or the server is closing: the message is kept and the channel held.
            throw new OutboxUnavailableException(OutboxUnavailableCauses.Unreachable, ex);
        }

        try
        {
            await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or SmtpProtocolException or ServiceNotConnectedException)
        {
            // The server accepted the message: a QUIT that fails must not make it go out twice.
        }
    }
}
