using Microsoft.Playwright;

namespace Teletherapy.EndToEnd;

/// <summary>
/// The demo clinic's server with a browser each for the therapist and the patient (more people's on request), every
/// page's console errors collected in one list: the setup the session room's browser tests share.
/// </summary>
public sealed class DemoCall : IAsyncDisposable
{
    private readonly List<Browser> _browsers = [];

    private DemoCall(LiveServer server)
    {
        Server = server;
        Demo = DemoInfo.Read(server.DataPath);
    }

    public LiveServer Server { get; }

    public DemoInfo Demo { get; }

    /// <summary>Errors the pages reported (console errors and uncaught exceptions).</summary>
    public List<string> Errors { get; } = [];

    public IPage Therapist { get; private set; } = null!;

    public IPage Patient { get; private set; } = null!;

    /// <param name="patientTimeZone">The patient's computer's time zone (IANA id); the machine's when null.</param>
    public static async Task<DemoCall> StartAsync(string? patientTimeZone = null)
    {
        var call = new DemoCall(new LiveServer(Scenario.DemoSettings()));
        call.Therapist = await call.NewPageAsync();
        call.Patient = await call.NewPageAsync(patientTimeZone);
        return call;
    }

    /// <summary>A page in a browser of its own: another person's computer.</summary>
    public async Task<IPage> NewPageAsync(string? timeZone = null)
    {
        var browser = await Browser.LaunchAsync(timeZone: timeZone);
        _browsers.Add(browser);
        return await browser.NewPageAsync(Errors);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var browser in _browsers)
        {
            await browser.DisposeAsync();
        }

        Server.Dispose();
    }
}
