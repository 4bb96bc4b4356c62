using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Teletherapy.Signaling.Tests.Sessions;

namespace Teletherapy.Signaling.Tests.Authorization;

/// <summary>Who calls: nobody, an integrator's API key, or a signed-in staff member of each role.</summary>
public enum Who
{
    Anonymous,
    Integrator,
    Admin,
    Scheduler,

    /// <summary>A therapist listed on the fixture's appointment (and so a therapist of its patient).</summary>
    Therapist,

    /// <summary>A therapist listed on nothing of the fixture's.</summary>
    OtherTherapist,
}

/// <summary>
/// A running server with one account of each role, a patient with an appointment (start in 5 minutes, so its room
/// is open) listing <see cref="Who.Therapist"/> only, and a patient with no appointment.
/// </summary>
public sealed class RightsFixture : IAsyncLifetime
{
    public const string Password = "correct horse battery";

    private readonly Dictionary<Who, (Guid Id, string Email)> _staff = [];
    private readonly Dictionary<Who, Cookie[]> _cookies = [];
    private int _count;

    public HubServer Server { get; } = new();

    public Guid PatientId { get; private set; }

    /// <summary>The email of <see cref="PatientId"/>'s primary contact (the scheduled email with the join link goes there).</summary>
    public string PatientEmail { get; private set; } = null!;

    public Guid OtherPatientId { get; private set; }

    public Guid AppointmentId { get; private set; }

    public Guid IdOf(Who who) => _staff[who].Id;

    public async Task InitializeAsync()
    {
        // Six callers ask for portal links from one address here; the per-client limit has its own tests.
        Server.Settings["Throttling:PortalLinksPerTenMinutes"] = "100";
        Server.Start();
        var api = Server.Integrator;
        (await api.PutAsJsonAsync("api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = true })).EnsureSuccessStatusCode();
        foreach (var (who, role) in new[] { (Who.Admin, "admin"), (Who.Scheduler, "scheduler"), (Who.Therapist, "therapist"), (Who.OtherTherapist, "therapist") })
        {
            var email = $"{who.ToString().ToLowerInvariant()}@clinic.example";
            _staff[who] = (await AddStaffAsync(who.ToString(), email, role), email);
            var jar = await Server.SignInAsync(email, Password);
            _cookies[who] = [.. jar.GetCookies(Server.BaseAddress).Cast<Cookie>()];
        }

        PatientId = await AddPatientAsync("Mia Keller");
        PatientEmail = $"patient.{_count}@example.org";
        OtherPatientId = await AddPatientAsync("Noah Berg");
        AppointmentId = await AddAppointmentAsync(PatientId);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>A fresh client for <paramref name="who"/> (its own cookie jar: signing out in it signs no one else out).</summary>
    public HttpClient ClientFor(Who who)
    {
        var jar = new CookieContainer();
        foreach (var cookie in _cookies.GetValueOrDefault(who) ?? [])
        {
            jar.Add(Server.BaseAddress, new Cookie(cookie.Name, cookie.Value, cookie.Path));
        }

        return Server.NewClient(jar, who == Who.Integrator ? HubServer.ApiKey : null);
    }

    public CookieContainer CookiesFor(Who who)
    {
        var jar = new CookieContainer();
        foreach (var cookie in _cookies.GetValueOrDefault(who) ?? [])
        {
            jar.Add(Server.BaseAddress, new Cookie(cookie.Name, cookie.Value, cookie.Path));
        }

        return jar;
    }

    public async Task<Guid> AddStaffAsync(string name, string email, string role)
    {
        var response = await Server.Integrator.PostAsJsonAsync("api/v1/staff", new { name, email, password = Password, role });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    /// <summary>A new patient with a primary contact who gets the emails.</summary>
    public async Task<Guid> AddPatientAsync(string name)
    {
        var n = Interlocked.Increment(ref _count);
        var response = await Server.Integrator.PostAsJsonAsync("api/v1/patients", new
        {
            name,
            contacts = new[] { new { name, email = $"patient.{n}@example.org", isPrimary = true, emailReminders = false, smsReminders = false } },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    /// <summary>A new teletherapy appointment of <paramref name="patientId"/> listing the fixture's therapist, starting in 5 minutes.</summary>
    public async Task<Guid> AddAppointmentAsync(Guid patientId)
    {
        var response = await Server.Integrator.PostAsJsonAsync("api/v1/appointments", new
        {
            patientId,
            therapistIds = new[] { IdOf(Who.Therapist) },
            start = Server.Time.GetUtcNow().AddMinutes(5),
            durationMinutes = 50,
            teletherapy = true,
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }
}
