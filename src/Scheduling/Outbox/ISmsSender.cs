namespace Teletherapy.Scheduling.Outbox;

/// <summary>A text message to one phone number. Its text never contains a link (R9).</summary>
internal sealed record SmsMessage(Guid Id, string To, string Text);

/// <summary>
/// Sends SMS through a gateway. Register an implementation before <c>AddScheduling</c> to use one; the default writes
/// <c>outbox/&lt;id&gt;.sms.txt</c>. Implementations should treat <see cref="SmsMessage.Id"/> as an idempotency key:
/// after a crash between sending and recording it, the same message is offered again.
/// </summary>
internal interface ISmsSender
{
    Task SendAsync(SmsMessage message, CancellationToken cancellationToken);
}
