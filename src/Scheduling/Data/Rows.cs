using Teletherapy.Scheduling.Join;

namespace Teletherapy.Scheduling.Data;

// Row shapes read by Dapper (snake_case columns map to these properties).
internal sealed class ClinicRow
{
    public Guid Id { get; set; }

    public string Name { get; set; } = "";

    public string TimeZone { get; set; } = "UTC";

    public bool RemindersEnabled { get; set; }
}

internal sealed class ContactRow
{
    public Guid Id { get; set; }

    public Guid PatientId { get; set; }

    public string Name { get; set; } = "";

    public string? Email { get; set; }

    public string? Phone { get; set; }

    public string Role { get; set; } = "";

    public string? Relationship { get; set; }

    public bool IsPrimary { get; set; }

    public bool EmailReminders { get; set; }

    public bool SmsReminders { get; set; }

    public ContactFacts ToFacts() => new(Id, IsPrimary, Email, Phone, EmailReminders, SmsReminders);
}

internal sealed class AppointmentRow
{
    public Guid Id { get; set; }

    public Guid ClinicId { get; set; }

    public Guid PatientId { get; set; }

    public Guid? SeriesId { get; set; }

    public int SeriesIndex { get; set; }

    public DateTimeOffset StartAt { get; set; }

    public DateTimeOffset EndAt { get; set; }

    public bool Teletherapy { get; set; }

    public string Status { get; set; } = AppointmentStatus.Scheduled;

    public int Revision { get; set; }

    public List<Guid> TherapistIds { get; } = [];

    public AppointmentFacts ToFacts() => new(Id, StartAt, EndAt, Teletherapy, Status, TherapistIds, SeriesId, SeriesIndex);
}
