using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MimeKit;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// One test's session, made through the REST API in the class's clinic (<see cref="ClinicFixture"/>: two listed
/// therapists, Ada and Ben, and an unlisted one, Olga): a patient whose primary
/// contact (Mia, role patient) and caregiver (Tom, email reminders on) both get the scheduled email, and a teletherapy
/// appointment of 50 minutes starting <c>startIn</c> from the server's (fake) now. The contacts' join tokens are read
/// from the <c>.eml</c> files the outbox writes.
/// </summary>
public sealed partial class SessionScenario
{
    public const string Password = "correct horse battery";
    private static int _count;
    private readonly ClinicFixture _clinic;

    private SessionScenario(ClinicFixture clinic) => _clinic = clinic;

    public HubServer Server => _clinic.Server;

    public string PatientEmail { get; private set; } = null!;

    public string CaregiverEmail { get; private set; } = null!;

    public Guid AppointmentId { get; private set; }

    public Guid PatientId { get; private set; }

    public DateTimeOffset Start { get; private set; }

    public DateTimeOffset End => Start.AddMinutes(50);

    public DateTimeOffset OpensAt => Start.AddMinutes(-10);

    public required Staff Ada { get; init; }

    public required Staff Ben { get; init; }

    public required Staff Olga { get; init; }

    public Guid PatientContactId { get; private set; }

    public Guid CaregiverContactId { get; private set; }

    public string PatientToken { get; private set; } = null!;

    public string CaregiverToken { get; private set; } = null!;

    public static string ParticipantIdOf(Guid contactOrStaffId, bool staff = false) => (staff ? "staff-" : "contact-") + contactOrStaffId.ToString("N");

    public static async Task<SessionScenario> CreateAsync(ClinicFixture clinic, TimeSpan? startIn = null)
    {
        var server = clinic.Server;
        var scenario = new SessionScenario(clinic) { Ada = clinic.Ada, Ben = clinic.Ben, Olga = clinic.Olga };
        var n = Interlocked.Increment(ref _count);
        scenario.PatientEmail = $"mia.{n}@example.org";
        scenario.CaregiverEmail = $"tom.{n}@example.org";
        var api = server.Integrator;
        var patient = await api.PostAsJsonAsync("api/v1/patients", new
        {
            name = "Mia Keller",
            contacts = new object[]
            {
                new { name = "Mia Keller", email = scenario.PatientEmail, phone = (string?)null, isPrimary = true, emailReminders = false, smsReminders = false },
                new { name = "Tom Keller", email = scenario.CaregiverEmail, phone = (string?)null, isPrimary = false, emailReminders = true, smsReminders = false },
            },
        });
        Assert.Equal(HttpStatusCode.Created, patient.StatusCode);
        var body = (await patient.Content.ReadFromJsonAsync<JsonObject>())!;
        var contacts = body["contacts"]!.AsArray();
        scenario.PatientId = body["id"]!.GetValue<Guid>();
        scenario.PatientContactId = contacts[0]!["id"]!.GetValue<Guid>();
        scenario.CaregiverContactId = contacts[1]!["id"]!.GetValue<Guid>();

        scenario.Start = server.Time.GetUtcNow() + (startIn ?? TimeSpan.FromMinutes(5));
        var appointment = await api.PostAsJsonAsync("api/v1/appointments", new
        {
            patientId = body["id"]!.GetValue<Guid>(),
            therapistIds = new[] { scenario.Ada.Id, scenario.Ben.Id },
            start = scenario.Start,
            durationMinutes = 50,
            teletherapy = true,
        });
        Assert.Equal(HttpStatusCode.Created, appointment.StatusCode);
        scenario.AppointmentId = (await appointment.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        scenario.PatientToken = (await JoinTokensAsync(server, scenario.PatientEmail, 1))[0];
        scenario.CaregiverToken = (await JoinTokensAsync(server, scenario.CaregiverEmail, 1))[0];
        return scenario;
    }

    /// <summary>The join tokens in the emails to <paramref name="recipient"/>, once there are at least <paramref name="count"/>, oldest first.</summary>
    public static async Task<IReadOnlyList<string>> JoinTokensAsync(HubServer server, string recipient, int count)
    {
        var folder = Path.Combine(server.DataPath, "outbox");
        var deadline = DateTime.UtcNow + HubServer.Timeout;
        while (true)
        {
            var tokens = new List<(DateTime Written, string Token)>();
            foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml") : [])
            {
                var message = await MimeMessage.LoadAsync(file);
                if (message.To.Mailboxes.Single().Address == recipient && JoinLink().Match(message.TextBody ?? "") is { Success: true } match)
                {
                    tokens.Add((File.GetLastWriteTimeUtc(file), match.Groups[1].Value));
                }
            }

            if (tokens.Count >= count)
            {
                return tokens.OrderBy(t => t.Written).Select(t => t.Token).Distinct().ToList();
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Fewer than {count} join emails to {recipient} appeared in {folder}.");
            }

            await Task.Delay(25);
        }
    }

    public Task<CookieContainer> SignInAsync(Staff staff) => _clinic.CookiesAsync(staff);

    /// <summary>A hub connection signed in as <paramref name="staff"/> (not joined yet).</summary>
    public async Task<HubClient> ConnectStaffAsync(Staff staff) => await Server.ConnectAsync(await SignInAsync(staff));

    /// <summary>A therapist connected and joined; asserts the join was accepted.</summary>
    public async Task<HubClient> JoinTherapistAsync(Staff staff)
    {
        var client = await ConnectStaffAsync(staff);
        var result = await client.JoinAsTherapistAsync(AppointmentId);
        Assert.True(result.Accepted, $"The therapist was refused: {result.Reason}");
        return client;
    }

    /// <summary>A contact connected and joined with their token; asserts the join was accepted.</summary>
    /// <param name="deviceKey">The key an earlier join on the same device returned (a reload); none for a new device.</param>
    public async Task<(HubClient Client, JoinResult Result)> JoinContactAsync(string token, string? deviceKey = null)
    {
        var client = await Server.ConnectAsync();
        var result = await client.JoinWithTokenAsync(token, deviceKey);
        Assert.True(result.Accepted, $"The contact was refused: {result.Reason}");
        return (client, result);
    }

    /// <summary>The reasons of the appointment's <c>join-refused</c> audit events, in order.</summary>
    public async Task<IReadOnlyList<string>> RefusalsInAuditAsync() =>
        (await Server.AuditAsync(AppointmentId))
            .Where(e => e!["kind"]!.GetValue<string>() == "join-refused")
            .Select(e => e!["reason"]!.GetValue<string>())
            .ToList();

    /// <summary>The kinds of the appointment's audit events, in order.</summary>
    public async Task<IReadOnlyList<string>> AuditKindsAsync() =>
        (await Server.AuditAsync(AppointmentId)).Select(e => e!["kind"]!.GetValue<string>()).ToList();

    [GeneratedRegex("/join/([A-Za-z0-9_-]+)")]
    private static partial Regex JoinLink();

    public sealed record Staff(Guid Id, string Name, string Email)
    {
        public string ParticipantId => ParticipantIdOf(Id, staff: true);
    }
}
