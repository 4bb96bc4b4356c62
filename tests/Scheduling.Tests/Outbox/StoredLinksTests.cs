using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Outbox;
using Teletherapy.Scheduling.Portal;
using Teletherapy.Scheduling.Reminders;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Outbox;

/// <summary>
/// Issue #15, stored secrets: once a message is delivered, its join or portal token is nowhere in the database or the
/// data folder, except in the pickup file itself while it is within its retention; after that, nowhere at all.
/// </summary>
public abstract class StoredLinksTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private static readonly DateTimeOffset Start = SchedulingHarness.T0.AddDays(2);

    private TimeSpan Retention => Harness.Get<IOptions<NotificationOptions>>().Value.OutboxFileRetention;

    [DbFact]
    public async Task After_delivery_no_token_is_stored_but_in_its_pickup_file_and_after_the_retention_not_there_either()
    {
        var seed = await Harness.SeedAsync(remindersEnabled: true);
        var created = (await Harness.Get<CreateAppointment>().HandleWithTokensAsync(
            new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50), CancellationToken.None)).Unwrap();
        var tokens = created.Tokens.Values.ToList();
        Assert.Equal(2, tokens.Count); // the scheduled emails to the primary and the email-reminder contact

        Harness.Time.SetUtcNow(Start - JoinPolicy.ReminderLeadTime);
        Assert.Equal(2, await Harness.Get<ReminderScheduler>().RunOnceAsync(CancellationToken.None)); // an email with a link, an SMS without
        tokens.Add(Assert.Single(await Harness.PendingAsync(), r => r.Kind == "reminder" && r.Channel == "email").Mime().JoinToken());
        tokens.Add((await Harness.Get<PortalSignIn>().RequestLinkWithTokenAsync(seed.Primary.Email, CancellationToken.None))!);
        Assert.Equal(4, tokens.Distinct().Count());

        // The search finds each token while its message waits to be sent (so finding nothing later means something).
        foreach (var token in tokens)
        {
            Assert.Equal(["outbox_messages.payload"], await Harness.DatabaseValuesContainingAsync(token));
            if (Dialect == SqlDialect.Sqlite)
            {
                Assert.NotEmpty(StoredText.FilesContaining(Harness.DataPath, token)); // teletherapy.db or its write-ahead log
            }
        }

        Assert.Equal(5, await Harness.Get<OutboxSender>().RunOnceAsync(CancellationToken.None));
        var delivered = Harness.Time.GetUtcNow();
        foreach (var token in tokens)
        {
            Assert.Empty(await Harness.DatabaseValuesContainingAsync(token));
            var file = Assert.Single(StoredText.FilesContaining(Harness.DataPath, token));
            Assert.Matches(@"^outbox[/\\][0-9a-f-]{36}\.eml$", file);
        }

        // Only the stored copies went: the links themselves still work.
        Assert.True((await Harness.Get<JoinService>().ResolveJoinTokenAsync(tokens[0])).Decision.Allowed);
        Assert.Equal(seed.Primary.Email, await Harness.Get<PortalSignIn>().ConsumeLinkAsync(tokens[3]));

        // Within the retention the pickup files stay (an admin can read the mails of a demo) ...
        Harness.Time.SetUtcNow(delivered + Retention - TimeSpan.FromMinutes(1));
        await Harness.Get<OutboxSender>().RunOnceAsync(CancellationToken.None);
        Assert.Equal(4, Directory.GetFiles(Harness.OutboxFolder, "*.eml").Length);
        Assert.Single(Directory.GetFiles(Harness.OutboxFolder, "*.sms.txt"));

        // ... and after it (the folder is looked at once an hour) they are gone, and with them the last copy of every token.
        Harness.Time.SetUtcNow(delivered + Retention + TimeSpan.FromHours(1));
        await Harness.Get<OutboxSender>().RunOnceAsync(CancellationToken.None);
        Assert.Empty(Directory.GetFiles(Harness.OutboxFolder));
        foreach (var token in tokens)
        {
            Assert.Empty(await Harness.DatabaseValuesContainingAsync(token));
            Assert.Empty(StoredText.FilesContaining(Harness.DataPath, token));
        }
    }

    [DbFact]
    public async Task A_failed_attempt_keeps_the_link_for_the_retry_and_the_retry_delivers_the_same_link()
    {
        var seed = await Harness.SeedAsync();
        var created = (await Harness.Get<CreateAppointment>().HandleWithTokensAsync(
            new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50), CancellationToken.None)).Unwrap();
        var transport = new CapturingTransport(failures: 2);
        var sender = NewSender(transport, Harness.Get<IOptions<NotificationOptions>>().Value);

        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
        Assert.All(await Harness.PendingAsync(), r => Assert.Contains(r.Mime().JoinToken(), created.Tokens.Values));

        Harness.Time.Advance(sender.RetryDelay(1));
        Assert.Equal(2, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Equal(created.Tokens.Values.Order(), transport.Delivered.Values.Select(m => m.JoinToken()).Order());
        Assert.All(await Harness.AllAsync(), r => Assert.Equal(string.Empty, r.Payload));
    }

    [DbFact]
    public async Task A_message_given_up_or_made_wrong_by_a_change_keeps_no_copy_of_its_link()
    {
        var seed = await Harness.SeedAsync();
        var first = (await Harness.Get<CreateAppointment>().HandleWithTokensAsync(
            new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50), CancellationToken.None)).Unwrap();
        var sender = NewSender(new CapturingTransport(failures: int.MaxValue), new NotificationOptions { MaxAttempts = 1 });
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
        var givenUp = await Harness.AllAsync();
        Assert.All(givenUp, r => Assert.NotNull(r.DiscardedAt));
        Assert.All(givenUp, r => Assert.Equal(string.Empty, r.Payload));

        // A cancel discards the unsent scheduled emails (their links revoked) and their bodies with them.
        var second = (await Harness.Get<CreateAppointment>().HandleWithTokensAsync(
            new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start.AddDays(1), 50), CancellationToken.None)).Unwrap();
        (await Harness.Get<CancelAppointment>().HandleAsync(second.Created.Id)).Unwrap();
        foreach (var token in first.Tokens.Values.Concat(second.Tokens.Values))
        {
            Assert.Empty(await Harness.DatabaseValuesContainingAsync(token));
        }

        var cancellations = await Harness.PendingAsync();
        Assert.Equal(2, cancellations.Count);
        Assert.All(cancellations, r => Assert.Equal("cancelled", r.Kind));
    }

    [DbFact]
    public async Task The_outbox_folder_keeps_a_message_file_for_the_retention_after_its_delivery_and_looks_at_most_once_an_hour()
    {
        var seed = await Harness.SeedAsync();
        (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50))).Unwrap();
        var sender = Harness.Get<OutboxSender>();
        Assert.Equal(2, await sender.RunOnceAsync(CancellationToken.None));
        var delivered = Harness.Time.GetUtcNow();

        // A message claimed and written but not marked sent (the process died in between) keeps its file for the repeat.
        (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start.AddDays(1), 50))).Unwrap();
        var crashing = NewSender(new PickupFolderMailTransport(Harness.Get<SchedulingOptions>()), Harness.Get<IOptions<NotificationOptions>>().Value);
        crashing.AfterDeliverBeforeMark = _ => throw new IOException("power cut");
        await Assert.ThrowsAsync<IOException>(() => crashing.RunOnceAsync(CancellationToken.None));
        Assert.Equal(3, Directory.GetFiles(Harness.OutboxFolder, "*.eml").Length);

        Harness.Time.SetUtcNow(delivered + Retention - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await sender.PruneOutboxFolderAsync(CancellationToken.None));
        Harness.Time.Advance(TimeSpan.FromSeconds(2)); // past the retention, but the folder was just looked at
        Assert.Equal(0, await sender.PruneOutboxFolderAsync(CancellationToken.None));
        Harness.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, await sender.PruneOutboxFolderAsync(CancellationToken.None));
        var unsent = Assert.Single(await Harness.PendingAsync(), r => File.Exists(Path.Combine(Harness.OutboxFolder, $"{r.Id:D}.eml")));
        Assert.Equal([$"{unsent.Id:D}.eml"], Directory.GetFiles(Harness.OutboxFolder).Select(Path.GetFileName));
    }

    [DbFact]
    public async Task Files_the_outbox_has_no_record_of_are_aged_by_their_modification_time()
    {
        var folder = Harness.OutboxFolder;
        Directory.CreateDirectory(folder);
        var now = DateTime.UtcNow; // file times are on the file system's clock
        void Write(string name, TimeSpan age)
        {
            var path = Path.Combine(folder, name);
            File.WriteAllText(path, "x");
            File.SetLastWriteTimeUtc(path, now - age);
        }

        Write($"{Guid.NewGuid():D}.eml", Retention + TimeSpan.FromMinutes(1)); // from a database started afresh
        Write($"{Guid.NewGuid():D}.sms.txt", Retention + TimeSpan.FromDays(30));
        Write($".{Guid.NewGuid():D}.eml.0123.tmp", Retention + TimeSpan.FromDays(1)); // a write a crash interrupted
        var young = $"{Guid.NewGuid():D}.eml";
        Write(young, Retention - TimeSpan.FromHours(1));
        Write("README.txt", Retention + TimeSpan.FromDays(1)); // not a message: never touched

        Assert.Equal(3, await Harness.Get<OutboxSender>().PruneOutboxFolderAsync(CancellationToken.None));
        Assert.Equal(new[] { "README.txt", young }.Order(StringComparer.Ordinal), Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [DbFact]
    public async Task A_retention_of_zero_keeps_the_files()
    {
        var sender = NewSender(new CapturingTransport(0), new NotificationOptions { OutboxFileRetention = TimeSpan.Zero });
        Directory.CreateDirectory(Harness.OutboxFolder);
        var path = Path.Combine(Harness.OutboxFolder, $"{Guid.NewGuid():D}.eml");
        await File.WriteAllTextAsync(path, "x");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddYears(-1));
        Assert.Equal(0, await sender.PruneOutboxFolderAsync(CancellationToken.None));
        Assert.True(File.Exists(path));
    }

    private OutboxSender NewSender(IMailTransport transport, NotificationOptions options) => new(
        Harness.Get<Database>(),
        transport,
        Harness.Get<ISmsSender>(),
        new OutboxSignal(),
        Harness.Time,
        Options.Create(options),
        Harness.Get<SchedulingOptions>(),
        NullLogger<OutboxSender>.Instance);

    private sealed class CapturingTransport(int failures) : IMailTransport
    {
        private int _failures = failures;

        public ConcurrentDictionary<Guid, MimeMessage> Delivered { get; } = new();

        public Task DeliverAsync(Guid messageId, MimeMessage message, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref _failures) >= 0)
            {
                throw new IOException("refused by the test server");
            }

            Delivered[messageId] = message;
            return Task.CompletedTask;
        }
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class StoredLinksTestsOnSqlite() : StoredLinksTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class StoredLinksTestsOnPostgres() : StoredLinksTests(SqlDialect.Postgres);
