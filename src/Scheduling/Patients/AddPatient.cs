using Dapper;
using Teletherapy.Scheduling.Data;

namespace Teletherapy.Scheduling.Patients;

/// <summary>A contact in <c>POST /api/v1/patients</c>. <see cref="Role"/> is <c>patient</c> or <c>caregiver</c>; default: patient for the primary contact, caregiver otherwise.</summary>
public sealed record ContactInput(string? Name, string? Email, string? Phone, bool IsPrimary, bool EmailReminders, bool SmsReminders, string? Role = null);

/// <summary>Body of <c>POST /api/v1/patients</c>.</summary>
public sealed record AddPatientRequest(string? Name, IReadOnlyList<ContactInput>? Contacts, Guid? ClinicId = null);

/// <summary>A saved contact.</summary>
public sealed record Contact(Guid Id, string Name, string? Email, string? Phone, string Role, bool IsPrimary, bool EmailReminders, bool SmsReminders);

/// <summary>A saved patient with contacts.</summary>
public sealed record Patient(Guid Id, Guid ClinicId, string Name, IReadOnlyList<Contact> Contacts);

/// <summary>Contact roles shown in the waiting room.</summary>
public static class ContactRoles
{
    public const string Patient = "patient";
    public const string Caregiver = "caregiver";
}

/// <summary>Use case: add a patient and the patient's contacts.</summary>
public sealed class AddPatient
{
    private readonly Database _database;
    private readonly TimeProvider _time;

    internal AddPatient(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    public async Task<Result<Patient>> HandleAsync(AddPatientRequest request, CancellationToken cancellationToken = default)
    {
        var validation = Validate(request);
        if (validation.HasErrors)
        {
            return Result<Patient>.Invalid(validation.Errors);
        }

        var (connection, transaction) = await _database.BeginAsync(cancellationToken).ConfigureAwait(false);
        await using (connection)
        await using (transaction)
        {
            var clinic = await SchedulingReader.ClinicOrDefaultAsync(connection, transaction, request.ClinicId).ConfigureAwait(false);
            if (clinic is null)
            {
                return Result<Patient>.Invalid("clinicId", SchedulingReader.MissingClinicMessage(request.ClinicId));
            }

            var now = _time.GetUtcNow();
            var patientId = Guid.NewGuid();
            await connection.ExecuteAsync(
                "INSERT INTO patients (id, clinic_id, name, created_at) VALUES (@patientId, @clinicId, @name, @now)",
                new { patientId, clinicId = clinic.Id, name = request.Name!.Trim(), now }, transaction).ConfigureAwait(false);
            var contacts = new List<Contact>();
            foreach (var input in request.Contacts ?? [])
            {
                var contact = new Contact(
                    Guid.NewGuid(),
                    input.Name!.Trim(),
                    Validation.NormalizeEmail(input.Email),
                    string.IsNullOrWhiteSpace(input.Phone) ? null : input.Phone.Trim(),
                    input.Role?.Trim().ToLowerInvariant() ?? (input.IsPrimary ? ContactRoles.Patient : ContactRoles.Caregiver),
                    input.IsPrimary,
                    input.EmailReminders,
                    input.SmsReminders);
                // Contacts are ordered by created_at; one tick apart keeps the request's order.
                now = now.AddTicks(1);
                await connection.ExecuteAsync(
                    """
                    INSERT INTO contacts (id, patient_id, name, email, phone, role, is_primary, email_reminders, sms_reminders, created_at)
                    VALUES (@Id, @patientId, @Name, @Email, @Phone, @Role, @IsPrimary, @EmailReminders, @SmsReminders, @now)
                    """,
                    new { contact.Id, patientId, contact.Name, contact.Email, contact.Phone, contact.Role, contact.IsPrimary, contact.EmailReminders, contact.SmsReminders, now },
                    transaction).ConfigureAwait(false);
                contacts.Add(contact);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return Result<Patient>.Ok(new Patient(patientId, clinic.Id, request.Name!.Trim(), contacts));
        }
    }

    private static Validation Validate(AddPatientRequest request)
    {
        var validation = new Validation();
        validation.Require(!string.IsNullOrWhiteSpace(request.Name) && request.Name.Length <= 200, "name", "The patient's name is required (at most 200 characters).");
        var contacts = request.Contacts ?? [];
        validation.Require(contacts.Count <= 20, "contacts", "At most 20 contacts.");
        validation.Require(contacts.Count(c => c.IsPrimary) <= 1, "contacts", "At most one contact is the primary contact.");
        for (var i = 0; i < contacts.Count; i++)
        {
            var contact = contacts[i];
            var field = $"contacts[{i}]";
            validation.Require(!string.IsNullOrWhiteSpace(contact.Name) && contact.Name.Length <= 200, $"{field}.name", "The contact's name is required.");
            var hasEmail = !string.IsNullOrWhiteSpace(contact.Email);
            validation.Require(!hasEmail || Validation.LooksLikeEmail(contact.Email!.Trim()), $"{field}.email", "Not a valid email address.");
            validation.Require(!contact.EmailReminders || hasEmail, $"{field}.emailReminders", "Email reminders need an email address.");
            validation.Require(!contact.SmsReminders || !string.IsNullOrWhiteSpace(contact.Phone), $"{field}.smsReminders", "SMS reminders need a phone number.");
            validation.Require(
                string.IsNullOrWhiteSpace(contact.Phone) || contact.Phone.Trim().All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')'),
                $"{field}.phone",
                "Not a valid phone number.");
            validation.Require(
                contact.Role is null || contact.Role.Trim().ToLowerInvariant() is ContactRoles.Patient or ContactRoles.Caregiver,
                $"{field}.role",
                "The role is patient or caregiver.");
        }

        return validation;
    }
}
