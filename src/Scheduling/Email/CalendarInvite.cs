using System.Globalization;
using System.Text;

namespace Teletherapy.Scheduling.Email;

/// <summary>An iCalendar (RFC 5545) VEVENT for one appointment, attached to emails as <c>invite.ics</c>.</summary>
internal static class CalendarInvite
{
    public static string Create(Guid appointmentId, DateTimeOffset start, DateTimeOffset end, string summary, string? url, DateTimeOffset stamp, int sequence, bool cancelled = false)
    {
        var builder = new StringBuilder();
        // RFC 5545 §3.1: lines end with CRLF; §3.3.5: UTC times end in Z.
        void Line(string text) => builder.Append(Fold(text)).Append("\r\n");
        Line("BEGIN:VCALENDAR");
        Line("VERSION:2.0");
        Line("PRODID:-//Teletherapy//Scheduling//EN");
        Line("CALSCALE:GREGORIAN");
        Line("METHOD:PUBLISH");
        Line("BEGIN:VEVENT");
        Line($"UID:{appointmentId:D}@teletherapy");
        Line($"SEQUENCE:{sequence.ToString(CultureInfo.InvariantCulture)}");
        Line($"DTSTAMP:{Utc(stamp)}");
        Line($"DTSTART:{Utc(start)}");
        Line($"DTEND:{Utc(end)}");
        Line($"SUMMARY:{Escape(summary)}");
        if (url is not null)
        {
            Line($"URL:{url}");
            Line($"DESCRIPTION:{Escape("Join the session: " + url)}");
        }

        Line(cancelled ? "STATUS:CANCELLED" : "STATUS:CONFIRMED");
        Line("END:VEVENT");
        Line("END:VCALENDAR");
        return builder.ToString();
    }

    private static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    // RFC 5545 §3.3.11: backslash, semicolon, comma and newline are escaped in TEXT values.
    private static string Escape(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(";", "\\;", StringComparison.Ordinal)
            .Replace(",", "\\,", StringComparison.Ordinal).Replace("\r\n", "\\n", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    // RFC 5545 §3.1: lines longer than 75 octets are folded with CRLF + space (ASCII content assumed after escaping).
    private static string Fold(string line)
    {
        if (line.Length <= 75)
        {
            return line;
        }

        var folded = new StringBuilder(line[..75]);
        for (var i = 75; i < line.Length; i += 74)
        {
            folded.Append("\r\n ").Append(line.AsSpan(i, Math.Min(74, line.Length - i)));
        }

        return folded.ToString();
    }
}
