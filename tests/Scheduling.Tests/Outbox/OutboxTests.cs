using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Outbox;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Outbox;

public abstract class OutboxTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private static readonly DateTimeOffset Start = SchedulingHarness.T0.AddDays(2);

    private async Task<Seed> CreateAppointmentsAsync(int count)
    {
        var seed = await Harness.SeedAsync();
        for (var i = 0; i < count; i++)
        {
            (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start.AddHours(i), 50))).Unwrap();
        }

        return seed;
    }

    private string[] EmlFiles() => Directory.Exists(Harness.OutboxFolder) ? Directory.GetFiles(Harness.OutboxFolder, "*.eml") : [];

    [DbFact]
    public async Task Emails_are_written_as_eml_files_once_and_marked_sent()
    {
        await CreateAppointmentsAsync(1);
        var sender = Harness.Get<OutboxSender>();
        Assert.Equal(2, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));

        var files = EmlFiles();
        Assert.Equal(2, files.Length);
        var rows = await Harness.AllAsync();
        Assert.All(rows, r => Assert.NotNull(r.SentAt));
        Assert.Equal(rows.Select(r => $"{r.Id:D}.eml").Order(), files.Select(Path.GetFileName).Order());
        var message = await MimeMessage.LoadAsync(files[0]);
        Assert.Single(message.To.Mailboxes);
        Assert.Contains("Join the session", message.HtmlBody);
        Assert.Empty(Directory.GetFiles(Harness.OutboxFolder, "*.tmp"));
    }

    [DbFact]
    public async Task A_crash_between_writing_and_marking_leads_to_one_file_not_two()
    {
        await CreateAppointmentsAsync(1);
        var sender = Harness.Get<OutboxSender>();
        var crashed = 0;
        sender.AfterDeliverBeforeMark = _ => Interlocked.Increment(ref crashed) == 1 ? throw new IOException("power cut") : Task.CompletedTask;
        await Assert.ThrowsAsync<IOException>(() => sender.RunOnceAsync(CancellationToken.None));
        Assert.Single(EmlFiles());
        Assert.Equal(2, (await Harness.PendingAsync()).Count);

        // Both claimed messages stay leased (the process "died"); after the lease another sender takes them over.
        sender.AfterDeliverBeforeMark = null;
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
        Harness.Time.Advance(Harness.Get<IOptions<Teletherapy.Scheduling.NotificationOptions>>().Value.ClaimLease);
        Assert.Equal(2, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Equal(2, EmlFiles().Length); // the first one's file was replaced, not duplicated
        Assert.Empty(await Harness.PendingAsync());
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Equal(2, EmlFiles().Length);
    }

    [DbFact]
    public async Task Failures_are_retried_with_backoff_and_counted()
    {
        await CreateAppointmentsAsync(1);
        var transport = new FlakyTransport(failures: 2);
        var sender = NewSender(transport);
        // Process-wide counters (other tests deliver in parallel): they grow by at least this test's share.
        var deliveries = Prometheus.Metrics.CreateCounter("teletherapy_outbox_deliveries_total", "", "result");
        var (retriesBefore, sentBefore) = (deliveries.WithLabels("retry").Value, deliveries.WithLabels("sent").Value);

        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
        Assert.True(deliveries.WithLabels("retry").Value >= retriesBefore + 2);
        var rows = await Harness.PendingAsync();
        Assert.All(rows, r => Assert.Equal(1, r.Attempts));
        Assert.All(rows, r => Assert.Contains("refused", r.LastError));
        Assert.Equal(TimeSpan.FromSeconds(10), sender.RetryDelay(1));
        Assert.Equal(TimeSpan.FromSeconds(20), sender.RetryDelay(2));
        Assert.Equal(TimeSpan.FromMinutes(30), sender.RetryDelay(30));

        Harness.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None)); // not due yet
        Harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, await sender.RunOnceAsync(CancellationToken.None));
        Assert.All(await Harness.AllAsync(), r => Assert.Equal(2, r.Attempts));
        Assert.All(await Harness.AllAsync(), r => Assert.NotNull(r.SentAt));
        Assert.Equal(2, transport.Delivered.Count);
        Assert.True(deliveries.WithLabels("sent").Value >= sentBefore + 2);
    }

    [DbFact]
    public async Task Concurrent_senders_deliver_every_message_exactly_once()
    {
        await CreateAppointmentsAsync(15); // 30 messages
        var transport = new FlakyTransport(failures: 0, delay: TimeSpan.FromMilliseconds(5));
        var senders = Enumerable.Range(0, 4).Select(_ => NewSender(transport)).ToList();
        var delivered = await Task.WhenAll(senders.Select(s => Task.Run(() => s.RunOnceAsync(CancellationToken.None))));
        Assert.Equal(30, delivered.Sum());
        Assert.Equal(30, transport.Delivered.Count);
        Assert.Equal(30, transport.Delivered.Distinct().Count());
        Assert.Empty(await Harness.PendingAsync());
    }

    [DbFact]
    public async Task Sms_goes_to_the_sms_sender_and_the_default_writes_a_text_file()
    {
        var seed = await Harness.SeedAsync(remindersEnabled: true);
        (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50))).Unwrap();
        Harness.Time.SetUtcNow(Start.AddHours(-2));
        await Harness.Get<Teletherapy.Scheduling.Reminders.ReminderScheduler>().RunOnceAsync(CancellationToken.None);
        await Harness.Get<OutboxSender>().RunOnceAsync(CancellationToken.None);
        var sms = Assert.Single(Directory.GetFiles(Harness.OutboxFolder, "*.sms.txt"));
        var text = await File.ReadAllTextAsync(sms);
        Assert.StartsWith($"To: {seed.SmsReminderContact.Phone}", text);
        Assert.DoesNotContain("http", text);
        Assert.DoesNotContain("/join/", text);
    }

    [DbFact]
    public async Task An_sms_with_a_link_is_never_sent_whatever_wrote_it()
    {
        var seed = await Harness.SeedAsync(remindersEnabled: true);
        var sms = new RecordingSms();
        var now = Harness.Time.GetUtcNow();
        await using (var connection = await Harness.Get<Database>().OpenAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            foreach (var (kind, text) in new[] { ("linked", "Join: https://clinic.example/join/abc"), ("plain", "Reminder: appointment at 10:00. Open the reminder email to join.") })
            {
                Assert.True(await OutboxWriter.EnqueueAsync(connection, transaction, new OutboxEntry(
                    Guid.NewGuid(), OutboxChannels.Sms, kind, null, seed.SmsReminderContact.Phone!, text, now), now));
            }

            await transaction.CommitAsync();
        }

        var sender = NewSender(new FlakyTransport(0), sms);
        Assert.Equal(1, await sender.RunOnceAsync(CancellationToken.None));

        var sent = Assert.Single(sms.Sent);
        Assert.DoesNotContain("://", sent.Text);
        var refused = Assert.Single(await Harness.AllAsync(), r => r.Kind == "linked");
        Assert.NotNull(refused.DiscardedAt);
        Assert.Null(refused.SentAt);
        Assert.StartsWith("R9", refused.LastError);
        Assert.Equal("", refused.Payload);
        Assert.Empty(await Harness.PendingAsync());
    }

    private OutboxSender NewSender(IMailTransport transport, ISmsSender? sms = null) => new(
        Harness.Get<Database>(),
        transport,
        sms ?? Harness.Get<ISmsSender>(),
        new OutboxSignal(),
        Harness.Time,
        Harness.Get<IOptions<Teletherapy.Scheduling.NotificationOptions>>(),
        Harness.Get<SchedulingOptions>(),
        NullLogger<OutboxSender>.Instance);

    private sealed class RecordingSms : ISmsSender
    {
        public ConcurrentBag<SmsMessage> Sent { get; } = [];

        public Task SendAsync(SmsMessage message, CancellationToken cancellationToken)
        {
            Sent.Add(message);
            return Task.CompletedTask;
        }
    }

    private sealed class FlakyTransport(int failures, TimeSpan delay = default) : IMailTransport
    {
        private int _failures = failures;

        public ConcurrentBag<Guid> Delivered { get; } = [];

        public async Task DeliverAsync(Guid messageId, MimeMessage message, CancellationToken cancellationToken)
        {
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cancellationToken);
            }

            if (Interlocked.Decrement(ref _failures) >= 0)
            {
                throw new IOException("refused by the test server");
            }

            Delivered.Add(messageId);
        }
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class OutboxTestsOnSqlite() : OutboxTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class OutboxTestsOnPostgres() : OutboxTests(SqlDialect.Postgres);
