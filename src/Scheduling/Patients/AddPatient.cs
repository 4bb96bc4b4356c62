using System.Data.Common;
using Dapper;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Patients;

/// <summary>
/// A contact in <c>POST /api/v1/patients</c> and <c>PUT /api/v1/patients/{id}</c>. <see cref="Role"/> is <c>patient</c> or
/// <c>caregiver</c> (default: patient for the primary contact, caregiver otherwise); <see cref="Relationship"/> is free text
/// ("Mother", "Interpreter"). <see cref="Id"/> names an existing contact in an update.
/// </summary>
public sealed record ContactInput(
    string? Name,
    string? Email,
    string? Phone,
    bool IsPrimary,
    bool EmailReminders,
    bool SmsReminders,
    string? Role = null,
    string? Relationship = null,
    Guid? Id = null);

/// <summary>Body of <c>POST /api/v1/patients</c>.</summary>
public sealed record AddPatientRequest(string? Name, IReadOnlyList<ContactInput?>? Contacts);

/// <summary>A saved contact.</summary>
public sealed record Contact(Guid Id, string Name, string? Email, string? Phone, string Role, bool IsPrimary, bool EmailReminders, bool SmsReminders, string? Relationship = null)
{
    internal static Contact From(ContactRow row) =>
        new(row.Id, row.Name, row.Email, row.Phone, row.Role, row.IsPrimary, row.EmailReminders, row.SmsReminders, row.Relationship);
}

/// <summary>A saved patient with contacts.</summary>
public sealed record Patient(Guid Id, Guid ClinicId, string Name, IReadOnlyList<Contact> Contacts);

/// <summary>Contact roles shown in the waiting room.</summary>
internal static class ContactRoles
{
    public const string Patient = "patient";
    public const string Caregiver = "caregiver";
}

/// <summary>Use case: add a patient and the patient's contacts (at least one, at most one primary).</summary>
public sealed class AddPatient
{
    private readonly Database _database;
    private readonly TimeProvider _time;

    internal AddPatient(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>Adds a patient on behalf of the system (the security audit names no person).</summary>
    internal Task<Result<Patient>> HandleAsync(AddPatientRequest request, CancellationToken cancellationToken = default) =>
        HandleAsync(request, AuditActor.System, cancellationToken);

    /// <summary>Adds a patient; <paramref name="by"/> is named in the security audit trail (<c>patient-changed</c>, <c>created</c>).</summary>
    public async Task<Result<Patient>> HandleAsync(AddPatientRequest request, AuditActor by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(by);
        var validation = PatientRules.Validate(request.Name, request.Contacts);
        foreach (var (contact, i) in (request.Contacts ?? []).Select((c, i) => (c, i)))
        {
            validation.Require(contact?.Id is null, $"contacts[{i}].id", "A new patient's contacts have no id yet.");
        }

        if (validation.HasErrors)
        {
            return Result<Patient>.Invalid(validation.Errors);
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var clinic = await SchedulingReader.DefaultClinicAsync(connection, transaction).ConfigureAwait(false);
            if (clinic is null)
            {
                return Result<Patient>.Invalid("clinic", SchedulingReader.MissingClinicMessage);
            }

            var now = _time.GetUtcNow();
            var patientId = Guid.NewGuid();
            await connection.ExecuteAsync(
                "INSERT INTO patients (id, clinic_id, name, created_at) VALUES (@patientId, @clinicId, @name, @now)",
                new { patientId, clinicId = clinic.Id, name = request.Name!.Trim(), now }, transaction).ConfigureAwait(false);
            var contacts = new List<Contact>();
            foreach (var input in request.Contacts!)
            {
                // Contacts are ordered by created_at; one tick apart keeps the request's order.
                now = now.AddTicks(1);
                contacts.Add(await PatientRules.InsertContactAsync(connection, transaction, patientId, input!, now).ConfigureAwait(false));
            }

            await SecurityTrail.AppendAsync(
                connection, transaction, SecurityEvent.PatientChanged(by, patientId, SecurityActions.Created, $"contacts={contacts.Count}"), now).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return Result<Patient>.Ok(new Patient(patientId, clinic.Id, request.Name!.Trim(), contacts));
        }
    }
}

/// <summary>The rules a patient and the patient's contacts follow, shared by adding and editing.</summary>
internal static class PatientRules
{
    public const int MaxContacts = 20;

    public static Validation Validate(string? name, IReadOnlyList<ContactInput?>? contacts)
    {
        var validation = new Validation();
        validation.Require(!string.IsNullOrWhiteSpace(name) && name.Length <= 200, "name", "The patient's name is required (at most 200 characters).");
        if (contacts is null || contacts.Count == 0)
        {
            validation.Add("contacts", "At least one contact is required (the patient or a caregiver).");
            return validation;
        }

        validation.Require(contacts.Count <= MaxContacts, "contacts", $"At most {MaxContacts} contacts.");
        validation.Require(contacts.Count(c => c?.IsPrimary == true) <= 1, "contacts", "At most one contact is the primary contact.");
        for (var i = 0; i < contacts.Count && i < MaxContacts; i++)
        {
            var field = $"contacts[{i}]";
            if (contacts[i] is not { } contact)
            {
                validation.Add(field, "A contact is an object with at least a name.");
                continue;
            }

            validation.Require(!string.IsNullOrWhiteSpace(contact.Name) && contact.Name.Length <= 200, $"{field}.name", "The contact's name is required (at most 200 characters).");
            var hasEmail = !string.IsNullOrWhiteSpace(contact.Email);
            validation.Require(!hasEmail || Validation.LooksLikeEmail(contact.Email!.Trim()), $"{field}.email", "Not a valid email address.");
            validation.Require(!contact.EmailReminders || hasEmail, $"{field}.emailReminders", "Email reminders need an email address.");
            validation.Require(!contact.SmsReminders || !string.IsNullOrWhiteSpace(contact.Phone), $"{field}.smsReminders", "SMS reminders need a phone number.");
            validation.Require(
                string.IsNullOrWhiteSpace(contact.Phone) || (contact.Phone.Length <= 40 && contact.Phone.Trim().All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')')),
                $"{field}.phone",
                "Not a valid phone number.");
            validation.Require(
                contact.Role is null || contact.Role.Trim().ToLowerInvariant() is ContactRoles.Patient or ContactRoles.Caregiver,
                $"{field}.role",
                "The role is patient or caregiver.");
            validation.Require(contact.Relationship is null || contact.Relationship.Length <= 100, $"{field}.relationship", "At most 100 characters.");
        }

        return validation;
    }

    public static string RoleOf(ContactInput input) =>
        input.Role?.Trim().ToLowerInvariant() ?? (input.IsPrimary ? ContactRoles.Patient : ContactRoles.Caregiver);

    public static string? Relationship(ContactInput input) => string.IsNullOrWhiteSpace(input.Relationship) ? null : input.Relationship.Trim();

    public static string? Phone(ContactInput input) => string.IsNullOrWhiteSpace(input.Phone) ? null : input.Phone.Trim();

    public static async Task<Contact> InsertContactAsync(DbConnection connection, DbTransaction transaction, Guid patientId, ContactInput input, DateTimeOffset now)
    {
        var contact = new Contact(
            Guid.NewGuid(), input.Name!.Trim(), Validation.NormalizeEmail(input.Email), Phone(input), RoleOf(input),
            input.IsPrimary, input.EmailReminders, input.SmsReminders, Relationship(input));
        await connection.ExecuteAsync(
            """
            INSERT INTO contacts (id, patient_id, name, email, phone, role, relationship, is_primary, email_reminders, sms_reminders, created_at)
            VALUES (@Id, @patientId, @Name, @Email, @Phone, @Role, @Relationship, @IsPrimary, @EmailReminders, @SmsReminders, @now)
            """,
            new { contact.Id, patientId, contact.Name, contact.Email, contact.Phone, contact.Role, contact.Relationship, contact.IsPrimary, contact.EmailReminders, contact.SmsReminders, now },
            transaction).ConfigureAwait(false);
        return contact;
    }
}
