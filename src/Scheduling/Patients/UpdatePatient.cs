using Dapper;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.JoinLinks;

namespace Teletherapy.Scheduling.Patients;

/// <summary>
/// Body of <c>PUT /api/v1/patients/{id}</c>: the patient's name and the whole list of contacts. A contact with an
/// <c>id</c> is updated, one without is added, an existing contact left out is removed.
/// </summary>
public sealed record UpdatePatientRequest(string? Name, IReadOnlyList<ContactInput?>? Contacts);

/// <summary>
/// Use case: edit a patient and the patient's contacts in one transaction. A removed contact is kept for the audit
/// trail but no longer listed, emailed or reminded, and every join link it holds stops working.
/// </summary>
public sealed class UpdatePatient
{
    private readonly Database _database;
    private readonly TimeProvider _time;

    internal UpdatePatient(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>Edits a patient on behalf of the system (the security audit names no person).</summary>
    internal Task<Result<Patient>> HandleAsync(Guid patientId, UpdatePatientRequest request, CancellationToken cancellationToken = default) =>
        HandleAsync(patientId, request, AuditActor.System, cancellationToken);

    /// <summary>Edits a patient; <paramref name="by"/> is named in the security audit trail (<c>patient-changed</c>, <c>updated</c>).</summary>
    public async Task<Result<Patient>> HandleAsync(Guid patientId, UpdatePatientRequest request, AuditActor by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(by);
        var validation = PatientRules.Validate(request.Name, request.Contacts);
        if (validation.HasErrors)
        {
            return Result<Patient>.Invalid(validation.Errors);
        }

        var inputs = request.Contacts!.Select(c => c!).ToList();
        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var clinicId = await connection.QuerySingleOrDefaultAsync<Guid?>(
                "SELECT clinic_id FROM patients WHERE id = @patientId", new { patientId }, transaction).ConfigureAwait(false);
            if (clinicId is null)
            {
                return Result<Patient>.NotFound();
            }

            var existing = (await SchedulingReader.ContactsAsync(connection, transaction, patientId).ConfigureAwait(false)).ToDictionary(c => c.Id);
            var named = new HashSet<Guid>();
            for (var i = 0; i < inputs.Count; i++)
            {
                if (inputs[i].Id is { } id && (!existing.ContainsKey(id) || !named.Add(id)))
                {
                    validation.Add($"contacts[{i}].id", "Not a contact of this patient (or named twice).");
                }
            }

            if (validation.HasErrors)
            {
                return Result<Patient>.Invalid(validation.Errors);
            }

            var now = _time.GetUtcNow();
            var removedCount = existing.Keys.Count(id => !named.Contains(id));
            var change = SecurityEvent.PatientChanged(
                by, patientId, SecurityActions.Updated, $"contacts-added={inputs.Count(i => i.Id is null)} contacts-removed={removedCount}");
            await connection.ExecuteAsync(
                "UPDATE patients SET name = @name WHERE id = @patientId", new { name = request.Name!.Trim(), patientId }, transaction).ConfigureAwait(false);
            foreach (var removed in existing.Keys.Where(id => !named.Contains(id)))
            {
                await connection.ExecuteAsync(
                    "UPDATE contacts SET removed_at = @now, is_primary = @no, email_reminders = @no, sms_reminders = @no WHERE id = @removed",
                    new { now, no = false, removed }, transaction).ConfigureAwait(false);
                await JoinLinkIssuer.RevokeContactAsync(connection, transaction, removed, RevokeReasons.ContactRemoved, now).ConfigureAwait(false);
            }

            var contacts = new List<Contact>();
            foreach (var input in inputs)
            {
                now = now.AddTicks(1);
                if (input.Id is { } id)
                {
                    var contact = new Contact(
                        id, input.Name!.Trim(), Validation.NormalizeEmail(input.Email), PatientRules.Phone(input), PatientRules.RoleOf(input),
                        input.IsPrimary, input.EmailReminders, input.SmsReminders, PatientRules.Relationship(input));
                    await connection.ExecuteAsync(
                        """
                        UPDATE contacts SET name = @Name, email = @Email, phone = @Phone, role = @Role, relationship = @Relationship,
                            is_primary = @IsPrimary, email_reminders = @EmailReminders, sms_reminders = @SmsReminders
                        WHERE id = @Id
                        """,
                        contact, transaction).ConfigureAwait(false);
                    contacts.Add(contact);
                }
                else
                {
                    contacts.Add(await PatientRules.InsertContactAsync(connection, transaction, patientId, input, now).ConfigureAwait(false));
                }
            }

            await SecurityTrail.AppendAsync(connection, transaction, change, _time.GetUtcNow()).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return Result<Patient>.Ok(new Patient(patientId, clinicId.Value, request.Name!.Trim(), contacts));
        }
    }
}
