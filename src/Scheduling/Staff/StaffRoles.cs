namespace Teletherapy.Scheduling.Staff;

/// <summary>The roles of staff accounts (README: Roles and the practice pages). Integrators with an API key act as <see cref="Admin"/>.</summary>
public static class StaffRoles
{
    /// <summary>Everything: clinic settings, staff accounts, all patients and appointments, audit and minutes.</summary>
    public const string Admin = "admin";

    /// <summary>Front desk: patients and contacts, every appointment, the whole calendar and minutes; never joins a session.</summary>
    public const string Scheduler = "scheduler";

    /// <summary>Sees, books, moves, cancels and joins only the appointments they are listed on, and those patients.</summary>
    public const string Therapist = "therapist";

    public static IReadOnlyList<string> All { get; } = [Admin, Scheduler, Therapist];

    /// <summary>The role named by <paramref name="value"/> (any case, trimmed), or null when it names none.</summary>
    internal static string? Parse(string? value) =>
        value?.Trim().ToLowerInvariant() is { } role && All.Contains(role) ? role : null;

    /// <summary>Who can be listed on an appointment (and so join its session): therapists, and admins who also see patients.</summary>
    public static bool CanBeListed(string role) => role is Therapist or Admin;
}
