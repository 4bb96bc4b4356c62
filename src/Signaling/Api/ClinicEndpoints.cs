using Teletherapy.Scheduling.Access;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Scheduling.Staff;
using Teletherapy.Signaling.Auth;

namespace Teletherapy.Signaling.Api;

internal sealed record CreatedId(Guid Id);

internal sealed record PatientResponse(Guid Id, Guid ClinicId, string Name, IReadOnlyList<Contact> Contacts)
{
    public static PatientResponse From(Patient patient) => new(patient.Id, patient.ClinicId, patient.Name, patient.Contacts);
}

/// <summary>A staff account as admins see it.</summary>
internal sealed record StaffAccountResponse(Guid Id, string Name, string Email, string Role, bool Active)
{
    public static StaffAccountResponse From(StaffIdentity staff) => new(staff.Id, staff.Name, staff.Email, staff.Role, staff.Active);
}

/// <summary>
/// The clinic (one per installation), its staff accounts, and patients. Clinic settings and staff accounts are for
/// admins (and integrators); patients for admins and schedulers, and for reading by their therapists.
/// </summary>
internal static class ClinicEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var clinic = api.MapGroup("").WithTags("Clinic");

        clinic.MapGet("/clinic", async (ClinicSettings clinics, CancellationToken ct) =>
            await clinics.GetDefaultAsync(ct) is { } found ? Results.Ok(found) : ApiProblems.NotFoundProblem("No clinic is set up yet."))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("GetClinic").WithSummary("The clinic: name, time zone, reminders feature.")
            .Produces<Clinic>().ProducesProblem(StatusCodes.Status404NotFound);

        clinic.MapPut("/clinic", async (SaveClinicRequest body, ClinicSettings clinics, HttpContext context, CancellationToken ct) =>
            ApiProblems.From(await clinics.SaveDefaultAsync(body, By(context), ct), Results.Ok))
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithName("SaveClinic").WithSummary("Creates or updates the clinic (admins). timeZone is an IANA id (e.g. Europe/Berlin).")
            .Produces<Clinic>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden);

        var staff = api.MapGroup("/staff").WithTags("Staff").RequireAuthorization(AuthSetup.AdminPolicy);

        staff.MapGet("", async (StaffAccounts accounts, CancellationToken ct) =>
            Results.Ok((await accounts.ListAsync(ct)).Select(StaffAccountResponse.From).ToList()))
            .WithName("ListStaff").WithSummary("Every staff account with role and whether it is active (admins).")
            .Produces<List<StaffAccountResponse>>().ProducesProblem(StatusCodes.Status403Forbidden);

        staff.MapPost("", async (AddStaffRequest body, StaffAccounts accounts, HttpContext context, CancellationToken ct) =>
            ApiProblems.From(await accounts.AddAsync(body, By(context), ct), s => Results.Created($"/api/v1/staff/{s.Id}", new CreatedId(s.Id))))
            .WithName("AddStaff").WithSummary("Adds a staff member who signs in with email and password; role admin, scheduler or therapist (default).")
            .Produces<CreatedId>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden);

        staff.MapPut("/{id:guid}", async (Guid id, UpdateStaffRequest body, StaffAccounts accounts, StaffConnections connections, HttpContext context, CancellationToken ct) =>
        {
            var result = await accounts.UpdateAsync(id, body, By(context), ct);
            if (result.IsOk && !result.Value!.Active)
            {
                // After the commit: the cookie is refused from the next request on; open hub connections close now.
                connections.Close(id);
            }

            return ApiProblems.From(result, s => Results.Ok(StaffAccountResponse.From(s)));
        })
            .WithName("UpdateStaff").WithSummary("Changes a staff member's name, role or active flag (admins). A deactivated account can't sign in and its sessions end.")
            .Produces<StaffAccountResponse>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status403Forbidden);

        api.MapGet("/therapists", async (StaffAccounts accounts, CancellationToken ct) => Results.Ok(await accounts.ListTherapistsAsync(ct)))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithTags("Staff").WithName("ListTherapists")
            .WithSummary("Active staff who can be listed on an appointment (therapists and admins), by name.")
            .Produces<IReadOnlyList<TherapistOption>>();

        api.MapGet("/access-refusals", async (AccessLog log, CancellationToken ct) => Results.Ok(await log.ListAsync(cancellationToken: ct)))
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithTags("Audit").WithName("ListAccessRefusals")
            .WithSummary("Refused attempts to read or change patient data, newest first (admins).")
            .Produces<IReadOnlyList<AccessRefusal>>().ProducesProblem(StatusCodes.Status403Forbidden);

        MapPatients(api.MapGroup("/patients").WithTags("Patients"));
    }

    private static void MapPatients(RouteGroupBuilder patients)
    {
        patients.MapGet("", async (string? search, HttpContext context, PatientDirectory directory, SecurityAudit audit, CancellationToken ct) =>
        {
            if (search is { Length: > 200 })
            {
                return ApiProblems.Invalid("search", "At most 200 characters.");
            }

            var visible = AccessPolicy.VisibleTherapist(context.User.Caller()!);
            var found = (await directory.SearchAsync(search, visible, ct)).Select(PatientResponse.From).ToList();
            // A search reads patient data: who searched and how many came back (never the search text).
            await audit.RecordAsync(SecurityEvent.PatientsSearched(By(context), found.Count), ct);
            return Results.Ok(found);
        })
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .WithName("ListPatients")
            .WithSummary("Patients by name whose name or a contact's name or email contains search; a therapist sees only their own patients.")
            .Produces<List<PatientResponse>>().ProducesValidationProblem();

        patients.MapGet("/{id:guid}", (HttpContext context) => Results.Ok(PatientResponse.From(context.Loaded<Patient>())))
            .RequireAuthorization(AuthSetup.StaffOrIntegratorPolicy)
            .RequirePatient(PatientAction.Read)
            .WithName("GetPatient").WithSummary("One patient with contacts.")
            .Produces<PatientResponse>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        patients.MapPost("", async (AddPatientRequest body, AddPatient add, HttpContext context, CancellationToken ct) =>
            ApiProblems.From(await add.HandleAsync(body, By(context), ct), p => Results.Created($"/api/v1/patients/{p.Id}", PatientResponse.From(p))))
            .RequireAuthorization(AuthSetup.ManagePatientsPolicy)
            .WithName("AddPatient").WithSummary("Adds a patient with contacts (at least one; at most one primary contact; email and SMS reminder preferences).")
            .Produces<PatientResponse>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden);

        patients.MapPut("/{id:guid}", async (Guid id, UpdatePatientRequest body, UpdatePatient update, HttpContext context, CancellationToken ct) =>
            ApiProblems.From(await update.HandleAsync(id, body, By(context), ct), p => Results.Ok(PatientResponse.From(p))))
            .RequireAuthorization(AuthSetup.ManagePatientsPolicy)
            .RequirePatient(PatientAction.Write)
            .WithName("UpdatePatient")
            .WithSummary("Edits a patient: a contact with an id is updated, one without is added, an existing contact left out is removed (its links stop working).")
            .Produces<PatientResponse>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>Who makes a change, for the security audit trail (the endpoint's policy guarantees a caller).</summary>
    private static AuditActor By(HttpContext context) => AuditActor.From(context.User.Caller()!);
}
