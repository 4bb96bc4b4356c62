using Dapper;
using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Email;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.JoinLinks;
using Teletherapy.Scheduling.Outbox;

namespace Teletherapy.Scheduling.Appointments;

/// <summary>Body of <c>PUT /api/v1/appointments/{id}</c>: the new start and length; therapists optional (unchanged when absent).</summary>
public sealed record RescheduleAppointmentRequest(DateTimeOffset? Start, int? DurationMinutes, IReadOnlyList<Guid>? TherapistIds = null, DateTimeOffset? End = null);

/// <summary>An appointment as the API shows it.</summary>
public sealed record AppointmentView(
    Guid Id,
    Guid PatientId,
    Guid? SeriesId,
    int SeriesIndex,
    DateTimeOffset Start,
    DateTimeOffset End,
    DateTimeOffset OpensAt,
    bool Teletherapy,
    string Status,
    IReadOnlyList<Guid> TherapistIds)
{
    internal static AppointmentView From(AppointmentRow row) =>
        new(row.Id, row.PatientId, row.SeriesId, row.SeriesIndex, row.StartAt, row.EndAt, JoinPolicy.OpensAt(row.ToFacts()), row.Teletherapy, row.Status, row.TherapistIds);
}

/// <summary>
/// Use case: move an appointment. In one transaction: the old join links are revoked (they answer <c>link-revoked</c>),
/// unsent emails about the old time are discarded, and a new scheduled-appointment email with new links is queued.
/// Once that is committed, the <see cref="IAppointmentChangeListener"/>s are told (the session hub sends away whoever
/// is in the room with a revoked link).
/// </summary>
public sealed partial class RescheduleAppointment
{
    private readonly Database _database;
    private readonly EmailComposer _composer;
    private readonly OutboxSignal _signal;
    private readonly AppointmentChangeNotifier _changes;
    private readonly TimeProvider _time;
    private readonly ILogger<RescheduleAppointment> _logger;

    internal RescheduleAppointment(
        Database database, EmailComposer composer, OutboxSignal signal, AppointmentChangeNotifier changes, TimeProvider time, ILogger<RescheduleAppointment> logger)
    {
        _database = database;
        _composer = composer;
        _signal = signal;
        _changes = changes;
        _time = time;
        _logger = logger;
    }

    /// <summary>Moves the appointment on behalf of the system (no person or integrator named).</summary>
    internal Task<Result<AppointmentView>> HandleAsync(Guid appointmentId, RescheduleAppointmentRequest request, CancellationToken cancellationToken = default) =>
        HandleAsync(appointmentId, request, AuditActor.System, cancellationToken);

    /// <summary>Moves the appointment; <paramref name="by"/> is who did it (named in the audit entries of people sent away).</summary>
    public async Task<Result<AppointmentView>> HandleAsync(Guid appointmentId, RescheduleAppointmentRequest request, AuditActor by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(by);
        var shape = new CreateAppointmentRequest(Guid.NewGuid(), request.TherapistIds ?? [Guid.NewGuid()], request.Start, request.DurationMinutes, End: request.End);
        var validation = new Validation();
        var duration = TimeSpan.Zero;
        if (request.TherapistIds is { Count: 0 or > 10 })
        {
            validation.Add("therapistIds", "Between 1 and 10 therapists.");
        }

        var shapeErrors = ValidateTimes(shape, out duration);
        foreach (var error in shapeErrors)
        {
            validation.Add(error.Field, error.Message);
        }

        if (validation.HasErrors)
        {
            return Result<AppointmentView>.Invalid(validation.Errors);
        }

        AppointmentRescheduled moved;
        AppointmentView view;
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var row = await SchedulingReader.AppointmentAsync(connection, transaction, appointmentId).ConfigureAwait(false);
            if (row is null)
            {
                return Result<AppointmentView>.NotFound();
            }

            if (row.Status == AppointmentStatus.Cancelled)
            {
                return Result<AppointmentView>.Invalid("status", "A cancelled appointment cannot be rescheduled.");
            }

            var therapists = request.TherapistIds?.Distinct().ToList() ?? row.TherapistIds;
            var references = await CreateAppointment.ValidateReferencesAsync(connection, transaction, row.PatientId, therapists, row.TherapistIds).ConfigureAwait(false);
            if (references.Errors.HasErrors)
            {
                return Result<AppointmentView>.Invalid(references.Errors.Errors);
            }

            var now = _time.GetUtcNow();
            var revoked = await JoinLinkIssuer.RevokeAllAsync(connection, transaction, row.Id, RevokeReasons.Rescheduled, now).ConfigureAwait(false);
            await OutboxWriter.DiscardPendingAsync(connection, transaction, row.Id, now).ConfigureAwait(false);
            var previousStart = row.StartAt;
            row.StartAt = request.Start!.Value.ToUniversalTime();
            row.EndAt = row.StartAt + duration;
            row.Revision++;
            await connection.ExecuteAsync(
                "UPDATE appointments SET start_at = @StartAt, end_at = @EndAt, revision = @Revision, updated_at = @now WHERE id = @Id",
                new { row.StartAt, row.EndAt, row.Revision, now, row.Id }, transaction).ConfigureAwait(false);
            if (request.TherapistIds is not null)
            {
                await connection.ExecuteAsync("DELETE FROM appointment_therapists WHERE appointment_id = @Id", new { row.Id }, transaction).ConfigureAwait(false);
                foreach (var staffId in therapists)
                {
                    await connection.ExecuteAsync(
                        "INSERT INTO appointment_therapists (appointment_id, staff_id) VALUES (@appointmentId, @staffId)",
                        new { appointmentId = row.Id, staffId }, transaction).ConfigureAwait(false);
                }

                row.TherapistIds.Clear();
                row.TherapistIds.AddRange(therapists);
            }

            var emails = 0;
            if (row.Teletherapy)
            {
                emails = (await ScheduledEmails.QueueAsync(
                    connection, transaction, _composer, references.Clinic!, references.Contacts, row, rescheduled: true, laterOccurrences: 0, now, previousStart).ConfigureAwait(false)).Count;
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _signal.Notify();
            LogRescheduled(row.Id, emails);
            moved = new AppointmentRescheduled(row.ToFacts(), revoked, by);
            view = AppointmentView.From(row);
        }

        // Only after the commit: nobody is sent away for a move that was rolled back.
        await _changes.RescheduledAsync(moved).ConfigureAwait(false);
        return Result<AppointmentView>.Ok(view);
    }

    private static List<ValidationError> ValidateTimes(CreateAppointmentRequest shape, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var errors = new List<ValidationError>();
        if (shape.Start is null)
        {
            errors.Add(new ValidationError("start", "The start (ISO 8601 with offset) is required."));
            return errors;
        }

        if (shape.End is { } end)
        {
            if (end <= shape.Start)
            {
                errors.Add(new ValidationError("end", "The end must be after the start."));
            }
            else if ((end - shape.Start.Value).TotalMinutes > CreateAppointment.MaxDurationMinutes)
            {
                errors.Add(new ValidationError("end", $"An appointment lasts at most {CreateAppointment.MaxDurationMinutes} minutes."));
            }
            else
            {
                duration = end - shape.Start.Value;
            }
        }
        else if (shape.DurationMinutes is { } minutes and >= 1 and <= CreateAppointment.MaxDurationMinutes)
        {
            duration = TimeSpan.FromMinutes(minutes);
        }
        else
        {
            errors.Add(new ValidationError("durationMinutes", $"The duration is 1 to {CreateAppointment.MaxDurationMinutes} minutes (the end must be after the start)."));
        }

        return errors;
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Appointment {AppointmentId} rescheduled; old links revoked, {Emails} emails queued")]
    private partial void LogRescheduled(Guid appointmentId, int emails);
}
