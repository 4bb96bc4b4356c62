using System.Text.Json;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling;
using Teletherapy.Scheduling.Demo;
using Teletherapy.Signaling.Hosting;

namespace Teletherapy.Signaling.Api;

/// <summary>
/// On start (unless <c>TELETHERAPY_DEMO=0</c>): makes sure the demo clinic and a joinable appointment exist, writes
/// <c>$TELETHERAPY_DATA/demo.json</c> and prints the sign-in and the URLs. Runs after the migrations (registered later).
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
        Directory.CreateDirectory(scheduling.DataPath);
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(demo, Json), cancellationToken);
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

    [LoggerMessage(EventId = 2500, Level = LogLevel.Information, Message = "Demo ready: appointment {AppointmentId}")]
    private partial void LogDemo(Guid appointmentId);
}
