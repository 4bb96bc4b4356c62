using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>
/// Two servers on one PostgreSQL database, both running their outbox senders and reminder schedulers: every email
/// and every reminder is queued and sent exactly once, by one of them (the database's row locks and unique keys
/// decide, no coordination of our own).
/// </summary>
public sealed class TwoNodeOutboxTests
{
    private const string ApiKey = "two-node-key";

    [Fact(Timeout = 120_000)]
    public Task Two_nodes_send_every_email_once_between_them() => RunAsync(reminders: false);

    [Fact(Timeout = 120_000)]
    public Task Two_nodes_queue_and_send_every_reminder_once_between_them() => RunAsync(reminders: true);

    private static async Task RunAsync(bool reminders)
    {
        var (_, database) = await TestDatabases.CreatePostgresAsync("tt_nodes_");
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["Teletherapy:ApiKeys:0"] = ApiKey,
        };
        using var first = new TestServer(settings);
        using var second = new TestServer(settings);
        // Both schedulers look for due reminders every 100 ms, so their passes overlap.
        static void Fast(Microsoft.AspNetCore.Hosting.IWebHostBuilder b) => b.ConfigureServices(services =>
            services.Configure<Teletherapy.Scheduling.NotificationOptions>(o => o.ReminderPollInterval = TimeSpan.FromMilliseconds(100)));
        using var firstNode = first.WithWebHostBuilder(Fast);
        using var secondNode = second.WithWebHostBuilder(Fast);
        var nodes = new[] { first, second };
        var hosts = new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>[] { firstNode, secondNode };
        var clients = hosts.Select(n =>
        {
            var client = n.CreateClient();
            client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
            return client;
        }).ToArray();
        (await clients[0].PutAsJsonAsync("/api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = reminders })).EnsureSuccessStatusCode();
        var therapist = (await (await clients[0].PostAsJsonAsync("/api/v1/staff", new { name = "Dr. Ada Weber", email = "ada@clinic.example", password = "correct horse battery" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var patient = (await (await clients[0].PostAsJsonAsync("/api/v1/patients", new
        {
            name = "Lea Keller",
            contacts = new object[]
            {
                new { name = "Lea Keller", email = "lea@example.org", isPrimary = true, emailReminders = reminders },
                new { name = "Jonas Keller", email = "jonas@example.org", isPrimary = false, emailReminders = reminders },
            },
        })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();

        // Appointments booked on both nodes, each with an email to each of the two contacts.
        const int appointments = 20;
        var bookings = Enumerable.Range(0, appointments).Select(async i =>
        {
            var response = await clients[i % 2].PostAsJsonAsync("/api/v1/appointments", new
            {
                patientId = patient,
                therapistIds = new[] { therapist },
                // Reminders are due 24 h ahead: these start within the day, so both schedulers find them at once.
                start = reminders ? DateTimeOffset.UtcNow.AddHours(2 + i) : DateTimeOffset.UtcNow.AddDays(3 + i).Date.AddHours(9),
                durationMinutes = 50,
            });
            response.EnsureSuccessStatusCode();
        });
        await Task.WhenAll(bookings);

        // Every message the bookings queued is sent, and both pickup folders together hold each one once.
        await using var check = new NpgsqlConnection(settings["ConnectionStrings:Postgres"]);
        await check.OpenAsync();
        async Task<long> CountAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, check);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        if (reminders)
        {
            // One reminder per appointment and contact, however many passes of two schedulers saw it due.
            var until = DateTime.UtcNow.AddSeconds(30);
            while (await CountAsync("SELECT COUNT(*) FROM outbox_messages WHERE kind = 'reminder'") < appointments * 2)
            {
                Assert.True(DateTime.UtcNow < until, "Not every reminder was queued.");
                await Task.Delay(100);
            }

            await Task.Delay(500); // several more passes of both schedulers, which must find nothing new
            Assert.Equal(appointments * 2, await CountAsync("SELECT COUNT(*) FROM outbox_messages WHERE kind = 'reminder'"));
        }

        var queued = await CountAsync("SELECT COUNT(*) FROM outbox_messages WHERE channel = 'email'");
        Assert.True(queued >= appointments, $"Only {queued} emails were queued for {appointments} appointments.");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await CountAsync("SELECT COUNT(*) FROM outbox_messages WHERE sent_at IS NULL") > 0 || Files(nodes).Count < queued)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Only {Files(nodes).Count} of {queued} emails were sent.");
            await Task.Delay(200);
        }

        var files = Files(nodes);
        Assert.Equal(queued, files.Count);
        Assert.Equal(files.Count, files.Select(Path.GetFileName).Distinct().Count());
        // Both nodes took part (each booked half and was woken by its own commits).
        Assert.All(nodes, n => Assert.NotEmpty(Files([n])));
    }

    private static List<string> Files(IEnumerable<TestServer> nodes) =>
        nodes.SelectMany(n => Directory.Exists(Path.Combine(n.DataPath, "outbox")) ? Directory.GetFiles(Path.Combine(n.DataPath, "outbox"), "*.eml") : []).ToList();
}
