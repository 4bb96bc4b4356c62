using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Text;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Email;

/// <summary>The appointment an email is about, as the recipient sees it.</summary>
internal sealed record EmailAppointment(Guid Id, DateTimeOffset Start, DateTimeOffset End, int Sequence);

/// <summary>
/// Builds the emails (MimeKit): one recipient per message, HTML with a plain-text alternative, a
/// <b>Join the session</b> button, the clinic's name, date and time in the clinic's time zone and an iCalendar
/// attachment. Messages carry no clinical data.
/// </summary>
internal sealed class EmailComposer(IOptions<SmtpOptions> smtp, IOptions<NotificationOptions> notifications, TimeProvider time)
{
    public const string JoinButtonText = "Join the session";

    public string JoinUrl(string token) => $"{BaseUrl}/join/{token}";

    public string PortalLoginUrl(string token) => $"{BaseUrl}/api/v1/portal/login/{token}";

    private string BaseUrl => notifications.Value.PublicBaseUrl.TrimEnd('/');

    /// <summary>R6, R7: the scheduled-appointment email (also sent, with a new link, on reschedule).</summary>
    /// <param name="previousStart">On reschedule, the time it moved from (said in the email).</param>
    public MimeMessage ScheduledAppointment(
        Guid messageId, ClinicRow clinic, ContactRow contact, EmailAppointment appointment, string joinToken, bool rescheduled, int laterOccurrences, DateTimeOffset? previousStart = null)
    {
        var when = ClinicTime.Format(appointment.Start, clinic.TimeZone);
        var from = previousStart is { } previous ? $" from {ClinicTime.Format(previous, clinic.TimeZone)}" : string.Empty;
        var subject = rescheduled
            ? $"Your teletherapy appointment with {clinic.Name} has moved to {when}"
            : $"Your teletherapy appointment with {clinic.Name} on {when}";
        var intro = rescheduled
            ? $"Your teletherapy appointment with {clinic.Name} has moved{from} to {when}. Links sent earlier no longer work: use the button in this email."
            : $"A teletherapy appointment with {clinic.Name} has been scheduled for {when}.";
        var series = laterOccurrences > 0
            ? $"This is the first of a series of {laterOccurrences + 1} appointments. For the later ones, use the reminder email or the patient portal to join."
            : null;
        return Build(messageId, clinic, contact, subject, intro, series, appointment, JoinUrl(joinToken));
    }

    /// <summary>The appointment was cancelled: said plainly, without a join link (links sent earlier no longer work).</summary>
    public MimeMessage Cancelled(Guid messageId, ClinicRow clinic, ContactRow contact, EmailAppointment appointment)
    {
        var when = ClinicTime.Format(appointment.Start, clinic.TimeZone);
        var message = NewMessage(
            messageId, clinic.Name, new MailboxAddress(contact.Name, contact.Email ?? throw new InvalidOperationException("The contact has no email address.")),
            $"Cancelled: your teletherapy appointment with {clinic.Name} on {when}");
        var sentence = $"Your teletherapy appointment with {clinic.Name} on {when} has been cancelled. Links sent earlier for it no longer work.";
        const string Contact = "If you have questions or want a new appointment, please contact the clinic.";
        var text = $"Hello {contact.Name},\n\n{sentence}\n\n{Contact}\n";
        var html = $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{Encode(clinic.Name)}</title></head>
            <body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.5;">
            <h1 style="font-size: 20px;">{Encode(clinic.Name)}</h1>
            <p>Hello {Encode(contact.Name)},</p><p>{Encode(sentence)}</p><p>{Encode(Contact)}</p>
            </body></html>
            """;
        message.Body = new MultipartAlternative
        {
            new TextPart(TextFormat.Plain) { Text = text },
            new TextPart(TextFormat.Html) { Text = html },
        };
        message.Prepare(EncodingConstraint.SevenBit);
        return message;
    }

    /// <summary>R8: the reminder email, with a link for this occurrence.</summary>
    public MimeMessage Reminder(Guid messageId, ClinicRow clinic, ContactRow contact, EmailAppointment appointment, string joinToken)
    {
        var when = ClinicTime.Format(appointment.Start, clinic.TimeZone);
        return Build(
            messageId,
            clinic,
            contact,
            $"Reminder: teletherapy appointment with {clinic.Name} on {when}",
            $"This is a reminder of your teletherapy appointment with {clinic.Name} on {when}.",
            null,
            appointment,
            JoinUrl(joinToken));
    }

    /// <summary>R9: the SMS reminder text. It never carries a link.</summary>
    public static string SmsReminder(ClinicRow clinic, DateTimeOffset start) =>
        $"Reminder: teletherapy appointment with {clinic.Name} on {ClinicTime.Format(start, clinic.TimeZone)}. To join, open the reminder email or the patient portal.";

    /// <summary>The portal sign-in email.</summary>
    public MimeMessage PortalLogin(Guid messageId, string email, string clinicName, string token)
    {
        var url = PortalLoginUrl(token);
        var message = NewMessage(messageId, clinicName, new MailboxAddress(null, email), $"Sign in to the {clinicName} patient portal");
        var text = $"Hello,\n\nUse this link to sign in to the {clinicName} patient portal. It works once and expires in {(int)notifications.Value.PortalLoginLinkLifetime.TotalMinutes} minutes:\n{url}\n\nIf you did not ask for it, ignore this email.\n";
        var html = Html(clinicName, $"<p>Use this link to sign in to the {Encode(clinicName)} patient portal. It works once and expires in {(int)notifications.Value.PortalLoginLinkLifetime.TotalMinutes} minutes.</p>", url, "Sign in to the portal", "<p>If you did not ask for it, ignore this email.</p>");
        var alternative = new MultipartAlternative
        {
            new TextPart(TextFormat.Plain) { Text = text },
            new TextPart(TextFormat.Html) { Text = html },
        };
        message.Body = alternative;
        message.Prepare(EncodingConstraint.SevenBit);
        return message;
    }

    private MimeMessage Build(Guid messageId, ClinicRow clinic, ContactRow contact, string subject, string intro, string? seriesNote, EmailAppointment appointment, string joinUrl)
    {
        var message = NewMessage(messageId, clinic.Name, new MailboxAddress(contact.Name, contact.Email ?? throw new InvalidOperationException("The contact has no email address.")), subject);
        var when = ClinicTime.Format(appointment.Start, clinic.TimeZone);
        var until = ClinicTime.FormatTime(appointment.End, clinic.TimeZone);

        var text = new StringBuilder()
            .Append("Hello ").Append(contact.Name).Append(",\n\n")
            .Append(intro).Append("\n\n")
            .Append("When: ").Append(when).Append(" until ").Append(until).Append('\n')
            .Append("Clinic: ").Append(clinic.Name).Append("\n\n")
            .Append(JoinButtonText).Append(": ").Append(joinUrl).Append("\n\n")
            .Append("The session opens 10 minutes before the start. A therapist lets you in from the waiting room.\n");
        if (seriesNote is not null)
        {
            text.Append('\n').Append(seriesNote).Append('\n');
        }

        var details = $"<p>{Encode(intro)}</p><p><strong>When:</strong> {Encode(when)} until {Encode(until)}<br><strong>Clinic:</strong> {Encode(clinic.Name)}</p>";
        var after = "<p>The session opens 10 minutes before the start. A therapist lets you in from the waiting room.</p>"
            + (seriesNote is null ? string.Empty : $"<p>{Encode(seriesNote)}</p>");
        var html = Html(clinic.Name, $"<p>Hello {Encode(contact.Name)},</p>{details}", joinUrl, JoinButtonText, after);

        var invite = CalendarInvite.Create(appointment.Id, appointment.Start, appointment.End, $"Teletherapy session with {clinic.Name}", joinUrl, time.GetUtcNow(), appointment.Sequence);
        var attachment = new MimePart("text", "calendar")
        {
            Content = new MimeContent(new MemoryStream(Encoding.UTF8.GetBytes(invite))),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = "invite.ics",
        };
        attachment.ContentType.Parameters.Add("method", "PUBLISH");
        attachment.ContentType.Charset = "utf-8";

        message.Body = new Multipart("mixed")
        {
            new MultipartAlternative
            {
                new TextPart(TextFormat.Plain) { Text = text.ToString() },
                new TextPart(TextFormat.Html) { Text = html },
            },
            attachment,
        };
        message.Prepare(EncodingConstraint.SevenBit);
        return message;
    }

    private MimeMessage NewMessage(Guid messageId, string clinicName, MailboxAddress to, string subject)
    {
        var from = MailboxAddress.Parse(smtp.Value.From);
        if (string.IsNullOrEmpty(from.Name))
        {
            from.Name = clinicName;
        }

        var message = new MimeMessage
        {
            Subject = subject,
            Date = time.GetUtcNow(),
            // A stable id lets a receiver recognise a repeat delivery after a crash between sending and recording it.
            MessageId = $"{messageId:N}@teletherapy",
        };
        message.From.Add(from);
        message.To.Add(to);
        return message;
    }

    private static string Html(string clinicName, string before, string url, string buttonText, string after) =>
        $"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>{Encode(clinicName)}</title></head>
        <body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.5;">
        <h1 style="font-size: 20px;">{Encode(clinicName)}</h1>
        {before}
        <p><a href="{Encode(url)}" role="button" style="display: inline-block; padding: 12px 20px; background: #1d4ed8; color: #ffffff; text-decoration: none; border-radius: 6px; font-weight: bold;">{Encode(buttonText)}</a></p>
        <p style="font-size: 13px; color: #52606d;">If the button does not work, copy this address into your browser: {Encode(url)}</p>
        {after}
        </body></html>
        """;

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
