using System.Globalization;

namespace Teletherapy.Scheduling.Email;

/// <summary>Dates and times as the clinic's patients read them: in the clinic's time zone (IANA id), English, 24-hour clock.</summary>
internal static class ClinicTime
{
    public static bool TryFindZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        return !string.IsNullOrWhiteSpace(id) && TimeZoneInfo.TryFindSystemTimeZoneById(id.Trim(), out zone!);
    }

    public static DateTimeOffset ToLocal(DateTimeOffset utc, string timeZoneId) =>
        TryFindZone(timeZoneId, out var zone) ? TimeZoneInfo.ConvertTime(utc, zone) : utc.ToUniversalTime();

    /// <summary>For example <c>Tuesday, 3 March 2026, 14:30 (Europe/Berlin)</c>.</summary>
    public static string Format(DateTimeOffset utc, string timeZoneId)
    {
        var local = ToLocal(utc, timeZoneId);
        return local.ToString("dddd, d MMMM yyyy, HH:mm", CultureInfo.InvariantCulture) + $" ({timeZoneId})";
    }

    /// <summary>Time of day only, e.g. <c>14:30</c>.</summary>
    public static string FormatTime(DateTimeOffset utc, string timeZoneId) =>
        ToLocal(utc, timeZoneId).ToString("HH:mm", CultureInfo.InvariantCulture);
}
