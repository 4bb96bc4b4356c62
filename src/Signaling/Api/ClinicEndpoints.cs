using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Api;

internal sealed record CreatedId(Guid Id);

internal sealed record PatientResponse(Guid Id, Guid ClinicId, string Name, IReadOnlyList<Contact> Contacts);

/// <summary>Clinic, staff and patients.</summary>
internal static class ClinicEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var group = api.MapGroup("").RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy).WithTags("Clinic");

        group.MapGet("/clinic", async (ClinicSettings clinics, CancellationToken ct) =>
            await clinics.GetDefaultAsync(ct) is { } clinic ? Results.Ok(clinic) : ApiProblems.NotFoundProblem("No clinic is set up yet."))
            .WithName("GetClinic").WithSummary("The clinic: name, time zone, reminders feature.")
            .Produces<Clinic>().ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPut("/clinic", async (SaveClinicRequest body, ClinicSettings clinics, CancellationToken ct) =>
            ApiProblems.From(await clinics.SaveDefaultAsync(body, ct), Results.Ok))
            .WithName("SaveClinic").WithSummary("Creates or updates the clinic. timeZone is an IANA id (e.g. Europe/Berlin).")
            .Produces<Clinic>().ProducesValidationProblem();

        group.MapPost("/clinics", async (SaveClinicRequest body, ClinicSettings clinics, CancellationToken ct) =>
            ApiProblems.From(await clinics.CreateAsync(body, ct), c => Results.Created($"/api/v1/clinics/{c.Id}", c)))
            .WithName("CreateClinic").WithSummary("Adds a further clinic on this server (staff and patients name it with clinicId).")
            .Produces<Clinic>(StatusCodes.Status201Created).ProducesValidationProblem();

        group.MapPost("/staff", async (AddStaffRequest body, StaffAccounts staff, CancellationToken ct) =>
            ApiProblems.From(await staff.AddAsync(body, ct), s => Results.Created($"/api/v1/staff/{s.Id}", new CreatedId(s.Id))))
            .WithName("AddStaff").WithSummary("Adds a staff member (therapist) who signs in with email and password.")
            .Produces<CreatedId>(StatusCodes.Status201Created).ProducesValidationProblem();

        group.MapPost("/patients", async (AddPatientRequest body, AddPatient patients, CancellationToken ct) =>
            ApiProblems.From(await patients.HandleAsync(body, ct), p => Results.Created($"/api/v1/patients/{p.Id}", new PatientResponse(p.Id, p.ClinicId, p.Name, p.Contacts))))
            .WithName("AddPatient").WithSummary("Adds a patient with contacts (primary contact, email and SMS reminder preferences).")
            .Produces<PatientResponse>(StatusCodes.Status201Created).ProducesValidationProblem();
    }
}
