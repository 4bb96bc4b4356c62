using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Npgsql;
using Teletherapy.Scheduling;

namespace Teletherapy.Signaling.Tests.Cluster;

/// <summary>
/// Both cluster nodes run the outbox sender and the reminder scheduler on the one database. Appointments booked
/// through either node's API get every email they cause (the join email to each recipient, the reminder to each contact
/// who wants one) exactly once in the shared outbox folder, and both nodes' senders deliver part of them.
/// </summary>
public sealed partial class ClusterOutboxTests
{
    /// <summary>The outbox sender's log category and its "delivered" event, the one record of which node sent a message.</summary>
    private const string SenderCategory = "Teletherapy.Scheduling.Outbox.OutboxSender";
    private const int DeliveredEvent = 2100;

    private const string Scheduled = "scheduled";
    private const string Reminder = "reminder";

    [Fact(Timeout = 120_000)]
    public async Task Appointments_booked_on_both_nodes_get_each_join_email_and_reminder_exactly_once_with_both_senders_delivering()
    {
        var deliveries = new[] { new DeliveryLog(), new DeliveryLog() };
        await using var cluster = await ClusterNodes.StartAsync(configure: (i, node) =>
        {
            node.Settings[$"Logging:LogLevel:{SenderCategory}"] = "Information";
            node.TestServices = services =>
            {
                services.AddSingleton<ILoggerProvider>(deliveries[i]);
                // Both schedulers look for due reminders and both senders for due messages every 100 ms, so their
                // passes overlap on the same rows instead of taking turns.
                services.Configure<NotificationOptions>(o =>
                {
                    o.ReminderPollInterval = TimeSpan.FromMilliseconds(100);
                    o.OutboxPollInterval = TimeSpan.FromMilliseconds(100);
                });
            };
        });

        var api = cluster[0].Integrator;
        Assert.Equal(HttpStatusCode.OK, (await api.PutAsJsonAsync("api/v1/clinic", new { name = "Lindenhof Praxis", timeZone = "Europe/Berlin", remindersEnabled = true })).StatusCode);
        var patient = await api.PostAsJsonAsync("api/v1/patients", new
        {
            name = "Lea Keller",
            contacts = new object[]
            {
                new { name = "Lea Keller", email = "lea@example.org", isPrimary = true, emailReminders = false },
                new { name = "Jonas Keller", email = "jonas@example.org", isPrimary = false, emailReminders = true },
            },
        });
        Assert.Equal(HttpStatusCode.Created, patient.StatusCode);
        var patientId = (await patient.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();

        // Twenty appointments, ten through each node's API at once. All start within the next day, so their reminders
        // are due as soon as they exist: the scheduler of either node may find each one on any of its passes.
        var now = DateTimeOffset.UtcNow;
        var booked = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            var response = await cluster[i % 2].Integrator.PostAsJsonAsync("api/v1/appointments", new
            {
                patientId,
                therapistIds = new[] { cluster.Ada.Id },
                start = now.AddHours(1 + i),
                durationMinutes = 50,
                teletherapy = true,
            });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        }));

        // The join email to the primary contact and to the caregiver, the reminder only to the caregiver (who asked for
        // reminders); and the seeded appointment's join email to its patient (reminders were off when it was booked,
        // and she wants none).
        var expected = booked
            .SelectMany(id => new[] { (id, "lea@example.org", Scheduled), (id, "jonas@example.org", Scheduled), (id, "jonas@example.org", Reminder) })
            .Append((cluster.AppointmentId, "mia@example.org", Scheduled))
            .Order()
            .ToList();

        var folder = Path.Combine(cluster[0].DataPath, "outbox");
        await using var database = new NpgsqlConnection(cluster[0].Settings["ConnectionStrings:Postgres"]);
        await database.OpenAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Directory.GetFiles(folder, "*.eml").Length < expected.Count || await CountAsync(database, "sent_at IS NULL") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Directory.GetFiles(folder, "*.eml").Length} of {expected.Count} emails were delivered.");
            await Task.Delay(100);
        }

        // Nothing is still to come: a second reminder or a repeat delivery would show up within a few passes of both
        // nodes (an absence cannot be waited for, only watched for a while).
        await Task.Delay(TimeSpan.FromSeconds(1));

        var emails = await Task.WhenAll(Directory.GetFiles(folder, "*.eml").Select(ReadAsync));
        Assert.Equal(expected, emails.Select(e => (e.AppointmentId, e.To, e.Kind)).Order().ToList());
        Assert.Equal(expected.Count, await CountAsync(database, "TRUE"));
        Assert.Equal(0, await CountAsync(database, "sent_at IS NULL"));

        // Each message was delivered by one sender, once (a repeat would rewrite the same file, so the folder alone
        // could not tell), and both nodes' senders took part.
        var delivered = deliveries.SelectMany(d => d.Delivered).ToList();
        Assert.Equal(emails.Select(e => e.MessageId).Order(), delivered.Order());
        Assert.All(deliveries, d => Assert.NotEmpty(d.Delivered));
    }

    private static async Task<long> CountAsync(NpgsqlConnection database, string condition)
    {
        await using var command = new NpgsqlCommand($"SELECT COUNT(*) FROM outbox_messages WHERE channel = 'email' AND {condition}", database);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Reads a delivered email: its message id (the file's name), recipient, kind, and appointment (the calendar invite's UID).</summary>
    private static async Task<(Guid MessageId, Guid AppointmentId, string To, string Kind)> ReadAsync(string file)
    {
        var message = await MimeMessage.LoadAsync(file);
        var invite = message.Attachments.OfType<MimePart>().Single(p => p.FileName == "invite.ics");
        using var reader = new StreamReader(invite.Content!.Open());
        var uid = InviteUid().Match(await reader.ReadToEndAsync());
        Assert.True(uid.Success, $"{file} has no calendar invite with the appointment's UID.");
        return (
            Guid.Parse(Path.GetFileNameWithoutExtension(file)),
            Guid.Parse(uid.Groups[1].Value),
            message.To.Mailboxes.Single().Address,
            message.Subject!.StartsWith("Reminder:", StringComparison.Ordinal) ? Reminder : Scheduled);
    }

    [GeneratedRegex(@"^UID:([0-9a-f-]{36})@teletherapy\r?$", RegexOptions.Multiline)]
    private static partial Regex InviteUid();

    /// <summary>The message ids one node's outbox sender logged as delivered.</summary>
    private sealed class DeliveryLog : ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<Guid> _delivered = new();

        public IReadOnlyList<Guid> Delivered => [.. _delivered];

        public ILogger CreateLogger(string categoryName) => categoryName == SenderCategory ? this : NullLogger.Instance;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == DeliveredEvent && state is IEnumerable<KeyValuePair<string, object?>> values
                && values.FirstOrDefault(v => v.Key == "MessageId").Value is Guid id)
            {
                _delivered.Enqueue(id);
            }
        }

        public void Dispose()
        {
        }
    }
}
