using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Outbox;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Outbox;

/// <summary>Real SMTP conversations with an in-process server (the SmtpServer package) on a free loopback port.</summary>
public abstract class SmtpDeliveryTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private static readonly DateTimeOffset Start = SchedulingHarness.T0.AddDays(1).AddHours(9); // Tue 3 March 2026 17:00 UTC = 18:00 Berlin

    private readonly RecordingStore _store = new();
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
    private readonly int _port = FreePort();
    private Task? _server;

    protected override void Configure(IServiceCollection services) =>
        services.Configure<SmtpOptions>(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = _port;
            o.UseTls = false;
            o.From = "Lindenhof Praxis <praxis@clinic.example>";
            o.TimeoutSeconds = 10;
        });

    public override async Task InitializeAsync()
    {
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(b => b.Endpoint(new IPEndPoint(IPAddress.Loopback, _port)))
            .Build();
        var provider = new SmtpServer.ComponentModel.ServiceProvider();
        provider.Add(_store);
        _server = new SmtpServer.SmtpServer(options, provider).StartAsync(_stop.Token);
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_server is not null)
        {
            try
            {
                await _server;
            }
            catch (OperationCanceledException)
            {
                // stopped
            }
        }

        _stop.Dispose();
        await base.DisposeAsync();
    }

    [DbFact]
    public async Task Scheduled_emails_arrive_over_smtp_one_recipient_each_with_html_text_and_ics()
    {
        var seed = await Harness.SeedAsync();
        (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50))).Unwrap();

        Assert.Equal(2, await Harness.Get<OutboxSender>().RunOnceAsync(CancellationToken.None));
        Assert.Equal(2, _store.Messages.Count);
        Assert.Empty(await Harness.PendingAsync());
        foreach (var (recipients, message) in _store.Messages)
        {
            var to = Assert.Single(message.To.Mailboxes);
            Assert.Equal(to.Address, Assert.Single(recipients));
            Assert.Equal("praxis@clinic.example", message.From.Mailboxes.Single().Address);
            Assert.Contains("Join the session", message.HtmlBody);
            Assert.Contains("Join the session: https://clinic.example/join/", message.TextBody);
            Assert.Contains("Lindenhof Praxis", message.HtmlBody);
            Assert.Contains("Tuesday, 3 March 2026, 18:00 (Europe/Berlin)", message.TextBody);
            Assert.Contains("18:00", message.HtmlBody);
            var ics = Assert.Single(message.Attachments.OfType<MimePart>());
            Assert.Equal("invite.ics", ics.FileName);
            Assert.Equal("text/calendar", ics.ContentType.MimeType);
        }

        Assert.Equal(["mia@example.org", "tom@example.org"], _store.Messages.Select(m => m.Recipients.Single()).Order());
    }

    [DbFact]
    public async Task A_refused_message_is_retried_later_and_then_delivered_once()
    {
        var seed = await Harness.SeedAsync();
        (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(seed.Patient.Id, [seed.Therapist.Id], Start, 50))).Unwrap();
        _store.RefuseNext = 2;

        var sender = Harness.Get<OutboxSender>();
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Empty(_store.Messages);
        var pending = await Harness.PendingAsync();
        Assert.Equal(2, pending.Count);
        Assert.All(pending, r => Assert.Equal(1, r.Attempts));
        Assert.All(pending, r => Assert.NotNull(r.LastError));

        Harness.Time.Advance(sender.RetryDelay(1));
        Assert.Equal(2, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Equal(2, _store.Messages.Count);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class RecordingStore : MessageStore
    {
        private int _refuse;

        public ConcurrentQueue<(List<string> Recipients, MimeMessage Message)> Messages { get; } = new();

        public int RefuseNext
        {
            set => _refuse = value;
        }

        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref _refuse) >= 0)
            {
                return new SmtpResponse(SmtpReplyCode.InsufficientStorage, "try again later");
            }

            using var stream = new MemoryStream(buffer.ToArray());
            var message = await MimeMessage.LoadAsync(stream, cancellationToken);
            Messages.Enqueue((transaction.To.Select(m => $"{m.User}@{m.Host}").ToList(), message));
            return SmtpResponse.Ok;
        }
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class SmtpDeliveryTestsOnSqlite() : SmtpDeliveryTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class SmtpDeliveryTestsOnPostgres() : SmtpDeliveryTests(SqlDialect.Postgres);
