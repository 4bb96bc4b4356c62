using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>
/// One server per test class with its clinic and staff (hashing passwords and starting hosts is the slow part);
/// every test makes its own patient and appointment from the clock's current time, so tests that move the clock
/// (it only moves forward) do not disturb the ones after them.
/// </summary>
public sealed class ClinicFixture : IAsyncLifetime
{
    private readonly ConcurrentDictionary<Guid, Lazy<Task<CookieContainer>>> _cookies = new();

    public ClinicFixture()
        : this(new HubServer())
    {
    }

    /// <summary>The clinic on a server a test configured itself (e.g. on a database of its own).</summary>
    internal ClinicFixture(HubServer server) => Server = server;

    public HubServer Server { get; }

    public SessionScenario.Staff Ada { get; private set; } = null!;

    public SessionScenario.Staff Ben { get; private set; } = null!;

    public SessionScenario.Staff Olga { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server.Start();
        var api = Server.Integrator;
        Assert.Equal(HttpStatusCode.OK, (await api.PutAsJsonAsync("api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = false })).StatusCode);
        Ada = await AddStaffAsync("Dr. Ada Weber", "ada@clinic.example");
        Ben = await AddStaffAsync("Dr. Ben Roth", "ben@clinic.example");
        Olga = await AddStaffAsync("Dr. Olga Brandt", "olga@clinic.example");
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>The staff member's sign-in cookie (signed in once per class; the cookie outlives any clock move of the tests).</summary>
    public Task<CookieContainer> CookiesAsync(SessionScenario.Staff staff) =>
        _cookies.GetOrAdd(staff.Id, _ => new Lazy<Task<CookieContainer>>(() => Server.SignInAsync(staff.Email, SessionScenario.Password))).Value;

    private async Task<SessionScenario.Staff> AddStaffAsync(string name, string email)
    {
        var response = await Server.Integrator.PostAsJsonAsync("api/v1/staff", new { name, email, password = SessionScenario.Password });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return new SessionScenario.Staff((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>(), name, email);
    }
}

/// <summary>Base of the session tests: the class's server, and the test's hub connections closed after it.</summary>
public abstract class HubTestBase(ClinicFixture clinic) : IAsyncLifetime
{
    protected ClinicFixture Clinic { get; } = clinic;

    protected HubServer Server => Clinic.Server;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Server.DisposeClientsAsync();

    protected Task<SessionScenario> ScenarioAsync(TimeSpan? startIn = null) => SessionScenario.CreateAsync(Clinic, startIn);

    /// <summary>The participant's peer in the session's relay router, or null when the relay holds nothing of theirs.</summary>
    protected RouterPeer? Peer(SessionScenario s, string participantId) =>
        Server.Services.GetRequiredService<MediaRelayService>().FindRouter(s.AppointmentId.ToString("N"))?.FindPeer(participantId);
}
