using System.Text.Json;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling;
using Teletherapy.Scheduling.Demo;
using Teletherapy.Signaling.Hosting;

namespace Teletherapy.Signaling.Api;

/// <summary>
/// On start when the demo is on (<c>TELETHERAPY_DEMO=1</c>, which <c>./run.sh</c> sets; off in the server's own defaults):
/// makes sure the demo clinic and a joinable appointment exist, writes <c>$TELETHERAPY_DATA/demo.json</c> (owner-only)
/// and prints the sign-in and the URLs. Never touches an installation with real data. Runs after the migrations.
/// </summary>
internal sealed partial class DemoOnStart(
    IOptions<TeletherapyOptions> options,
    SchedulingOptions scheduling,
    DemoSeeder seeder,
    ILogger<DemoOnStart> logger) : IHostedService
{
    public const string FileName = "demo.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Demo)
        {
            return;
        }

        var path = Path.Combine(scheduling.DataPath, FileName);
        var previous = await ReadAsync(path, cancellationToken);
        var demo = await seeder.EnsureAsync(previous, cancellationToken);
        if (demo is null)
        {
            LogRealData();
            return;
        }

        Directory.CreateDirectory(scheduling.DataPath);
        var temporary = path + ".tmp";
        // The file holds this installation's demo passwords: readable by the server's user only.
        await using (var file = OperatingSystem.IsWindows()
            ? new FileStream(temporary, FileMode.Create, FileAccess.Write)
            : new FileStream(temporary, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            await JsonSerializer.SerializeAsync(file, demo, Json, cancellationToken);
        }

        File.Move(temporary, path, overwrite: true);
        LogDemo(demo.AppointmentId);

        // The newcomer's first screen: printed on purpose, not logged (the demo has no real patient data).
        await Console.Out.WriteLineAsync(
            $"""

            Teletherapy demo
              Therapist sign-in:  {demo.TherapistEmail} / {demo.TherapistPassword}
              Admin sign-in:      {demo.AdminEmail} / {demo.AdminPassword}
              Scheduler sign-in:  {demo.SchedulerEmail} / {demo.SchedulerPassword}
              Calendar:           {demo.CalendarUrl}
              Patient join link:  {demo.PatientJoinUrl}
              Emails (outbox):    {Path.Combine(scheduling.DataPath, "outbox")}
              Details:            {path}

            """);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static async Task<DemoInfo?> ReadAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<DemoInfo>(await File.ReadAllTextAsync(path, cancellationToken), Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 2501, Level = LogLevel.Warning, Message = "Demo not set up: this installation has staff accounts or patients of its own (set TELETHERAPY_DEMO=0; deactivate the demo accounts if any are left)")]
    private partial void LogRealData();

    [LoggerMessage(EventId = 2500, Level = LogLevel.Information, Message = "Demo ready: appointment {AppointmentId}")]
    private partial void LogDemo(Guid appointmentId);
}
