using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Email;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Outbox;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling.Appointments;

/// <summary><c>repeat</c> of <c>POST /api/v1/appointments</c>: <see cref="Count"/> occurrences (1–104), <see cref="IntervalDays"/> apart (1–365).</summary>
public sealed record RepeatRequest(int Count, int IntervalDays);

/// <summary>
/// Body of <c>POST /api/v1/appointments</c>. Give the length as <see cref="DurationMinutes"/> (1–720) or as <see cref="End"/>.
/// <see cref="Teletherapy"/> defaults to true.
/// </summary>
public sealed record CreateAppointmentRequest(
    Guid? PatientId,
    IReadOnlyList<Guid>? TherapistIds,
    DateTimeOffset? Start,
    int? DurationMinutes,
    bool? Teletherapy = true,
    RepeatRequest? Repeat = null,
    DateTimeOffset? End = null);

/// <summary>One occurrence of a created schedule.</summary>
public sealed record Occurrence(Guid Id, DateTimeOffset Start);

/// <summary>Answer of <c>POST /api/v1/appointments</c>: the first occurrence's id, the series id (when repeated) and all occurrences.</summary>
public sealed record AppointmentCreated(Guid Id, Guid? SeriesId, IReadOnlyList<Occurrence> Occurrences);

/// <summary>
/// Use case: create an appointment, or a series of them, and (for teletherapy) queue the scheduled-appointment email
/// in the same transaction (R6, R7).
/// </summary>
public sealed partial class CreateAppointment
{
    public const int MaxDurationMinutes = 720;
    public const int MaxRepeatCount = 104;
    public const int MaxIntervalDays = 365;

    private readonly Database _database;
    private readonly EmailComposer _composer;
    private readonly OutboxSignal _signal;
    private readonly TimeProvider _time;
    private readonly ILogger<CreateAppointment> _logger;

    internal CreateAppointment(Database database, EmailComposer composer, OutboxSignal signal, TimeProvider time, ILogger<CreateAppointment> logger)
    {
        _database = database;
        _composer = composer;
        _signal = signal;
        _time = time;
        _logger = logger;
    }

    public async Task<Result<AppointmentCreated>> HandleAsync(CreateAppointmentRequest request, CancellationToken cancellationToken = default)
    {
        var result = await HandleWithTokensAsync(request, cancellationToken).ConfigureAwait(false);
        return result.IsOk ? Result<AppointmentCreated>.Ok(result.Value!.Created) : result.Status == ResultStatus.Invalid
            ? Result<AppointmentCreated>.Invalid(result.Errors)
            : Result<AppointmentCreated>.NotFound();
    }

    /// <summary>As <see cref="HandleAsync"/>, also returning the join token issued per contact (the demo prints one).</summary>
    internal async Task<Result<(AppointmentCreated Created, Dictionary<Guid, string> Tokens)>> HandleWithTokensAsync(CreateAppointmentRequest request, CancellationToken cancellationToken)
    {
        var validation = ValidateShape(request, out var duration);
        if (validation.HasErrors)
        {
            return Result<(AppointmentCreated, Dictionary<Guid, string>)>.Invalid(validation.Errors);
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var references = await ValidateReferencesAsync(connection, transaction, request.PatientId!.Value, request.TherapistIds!).ConfigureAwait(false);
            if (references.Errors.HasErrors)
            {
                return Result<(AppointmentCreated, Dictionary<Guid, string>)>.Invalid(references.Errors.Errors);
            }

            var now = _time.GetUtcNow();
            var count = request.Repeat?.Count ?? 1;
            var interval = TimeSpan.FromDays(request.Repeat?.IntervalDays ?? 0);
            Guid? seriesId = count > 1 ? Guid.NewGuid() : null;
            if (seriesId is not null)
            {
                await connection.ExecuteAsync(
                    "INSERT INTO series (id, patient_id, occurrence_count, interval_days, created_at) VALUES (@seriesId, @patientId, @count, @days, @now)",
                    new { seriesId, patientId = request.PatientId, count, days = request.Repeat!.IntervalDays, now }, transaction).ConfigureAwait(false);
            }

            var teletherapy = request.Teletherapy ?? true;
            var occurrences = new List<AppointmentRow>();
            for (var i = 0; i < count; i++)
            {
                var start = request.Start!.Value.ToUniversalTime() + (interval * i);
                var row = new AppointmentRow
                {
                    Id = Guid.NewGuid(),
                    ClinicId = references.Clinic!.Id,
                    PatientId = request.PatientId!.Value,
                    SeriesId = seriesId,
                    SeriesIndex = i,
                    StartAt = start,
                    EndAt = start + duration,
                    Teletherapy = teletherapy,
                    Status = AppointmentStatus.Scheduled,
                };
                row.TherapistIds.AddRange(request.TherapistIds!.Distinct());
                await InsertAsync(connection, transaction, row, now).ConfigureAwait(false);
                occurrences.Add(row);
            }

            var tokens = new Dictionary<Guid, string>();
            if (teletherapy)
            {
                // R7: the scheduled email of a series joins its first occurrence only.
                var firstFacts = JoinPolicy.ScheduledEmailLinkTarget(occurrences.Select(o => o.ToFacts()).ToList());
                var first = occurrences.Single(o => o.Id == firstFacts.Id);
                tokens = await ScheduledEmails.QueueAsync(
                    connection, transaction, _composer, references.Clinic!, references.Contacts, first, rescheduled: false, laterOccurrences: count - 1, now).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _signal.Notify();
            LogCreated(occurrences[0].Id, count, tokens.Count);
            var created = new AppointmentCreated(occurrences[0].Id, seriesId, occurrences.Select(o => new Occurrence(o.Id, o.StartAt)).ToList());
            return Result<(AppointmentCreated, Dictionary<Guid, string>)>.Ok((created, tokens));
        }
    }

    private static Validation ValidateShape(CreateAppointmentRequest request, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var validation = new Validation();
        validation.Require(request.PatientId is { } p && p != Guid.Empty, "patientId", "The patient is required.");
        validation.Require(request.TherapistIds is { Count: > 0 and <= 10 }, "therapistIds", "Between 1 and 10 therapists.");
        validation.Require(request.Start is not null, "start", "The start (ISO 8601 with offset) is required.");
        if (request.End is { } end && request.Start is { } start)
        {
            if (end <= start)
            {
                validation.Add("end", "The end must be after the start.");
            }
            else if (request.DurationMinutes is not null && request.DurationMinutes != (int)(end - start).TotalMinutes)
            {
                validation.Add("durationMinutes", "Give either durationMinutes or end, or make them agree.");
            }
            else if ((end - start).TotalMinutes > MaxDurationMinutes)
            {
                validation.Add("end", $"An appointment lasts at most {MaxDurationMinutes} minutes.");
            }
            else
            {
                duration = end - start;
            }
        }
        else if (request.DurationMinutes is { } minutes)
        {
            if (minutes is < 1 or > MaxDurationMinutes)
            {
                validation.Add("durationMinutes", $"The duration is 1 to {MaxDurationMinutes} minutes (the end must be after the start).");
            }
            else
            {
                duration = TimeSpan.FromMinutes(minutes);
            }
        }
        else if (request.Start is not null)
        {
            validation.Add("durationMinutes", "The duration (or the end) is required.");
        }

        if (request.Repeat is { } repeat)
        {
            validation.Require(repeat.Count is >= 1 and <= MaxRepeatCount, "repeat.count", $"The repeat count is 1 to {MaxRepeatCount}.");
            validation.Require(repeat.IntervalDays is >= 1 and <= MaxIntervalDays, "repeat.intervalDays", $"The interval is 1 to {MaxIntervalDays} days.");
        }

        return validation;
    }

    /// <summary>The patient exists and has a primary contact; every therapist exists, works at the patient's clinic, is active and may be listed.</summary>
    /// <param name="alreadyListed">Therapists the appointment lists already: they stay even if since deactivated or made scheduler.</param>
    internal static async Task<(Validation Errors, ClinicRow? Clinic, List<ContactRow> Contacts)> ValidateReferencesAsync(
        DbConnection connection, DbTransaction transaction, Guid patientId, IReadOnlyList<Guid> therapistIds, IReadOnlyCollection<Guid>? alreadyListed = null)
    {
        var validation = new Validation();
        var clinicId = await connection.QuerySingleOrDefaultAsync<Guid?>(
            "SELECT clinic_id FROM patients WHERE id = @patientId", new { patientId }, transaction).ConfigureAwait(false);
        if (clinicId is null)
        {
            validation.Add("patientId", "Unknown patient.");
            return (validation, null, []);
        }

        var clinic = await SchedulingReader.ClinicAsync(connection, transaction, clinicId.Value).ConfigureAwait(false);
        var contacts = await SchedulingReader.ContactsAsync(connection, transaction, patientId).ConfigureAwait(false);
        if (!contacts.Any(c => c.IsPrimary))
        {
            validation.Add("patientId", "The patient has no primary contact.");
        }

        for (var i = 0; i < therapistIds.Count; i++)
        {
            var staff = await connection.QuerySingleOrDefaultAsync<ListedStaffRow>(
                "SELECT clinic_id, role, active FROM staff WHERE id = @id", new { id = therapistIds[i] }, transaction).ConfigureAwait(false);
            if (staff is null)
            {
                validation.Add($"therapistIds[{i}]", "Unknown therapist.");
            }
            else if (staff.ClinicId != clinicId)
            {
                validation.Add($"therapistIds[{i}]", "The therapist works at another clinic than the patient.");
            }
            else if (alreadyListed?.Contains(therapistIds[i]) != true && (!staff.Active || !StaffRoles.CanBeListed(staff.Role)))
            {
                validation.Add($"therapistIds[{i}]", staff.Active ? "A scheduler cannot be listed on an appointment (only therapists and admins)." : "This account is deactivated.");
            }
        }

        return (validation, clinic, contacts);
    }

    private static async Task InsertAsync(DbConnection connection, DbTransaction transaction, AppointmentRow row, DateTimeOffset now)
    {
        await connection.ExecuteAsync(
            """
            INSERT INTO appointments (id, clinic_id, patient_id, series_id, series_index, start_at, end_at, teletherapy, status, revision, created_at, updated_at)
            VALUES (@Id, @ClinicId, @PatientId, @SeriesId, @SeriesIndex, @StartAt, @EndAt, @Teletherapy, @Status, 0, @now, @now)
            """,
            new { row.Id, row.ClinicId, row.PatientId, row.SeriesId, row.SeriesIndex, row.StartAt, row.EndAt, row.Teletherapy, row.Status, now },
            transaction).ConfigureAwait(false);
        foreach (var staffId in row.TherapistIds)
        {
            await connection.ExecuteAsync(
                "INSERT INTO appointment_therapists (appointment_id, staff_id) VALUES (@appointmentId, @staffId)",
                new { appointmentId = row.Id, staffId }, transaction).ConfigureAwait(false);
        }
    }

    private sealed class ListedStaffRow
    {
        public Guid ClinicId { get; set; }

        public string Role { get; set; } = "";

        public bool Active { get; set; }
    }

    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Appointment {AppointmentId} created ({Occurrences} occurrences, {Emails} scheduled emails queued)")]
    private partial void LogCreated(Guid appointmentId, int occurrences, int emails);
}
