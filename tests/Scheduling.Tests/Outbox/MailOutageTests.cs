using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Outbox;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Outbox;

/// <summary>
/// The SMTP server is down for 10 minutes (on the fake clock) while appointments are booked (README: Reliability,
/// Outages): a real in-process SMTP server that the test stops and starts again on the same port.
/// </summary>
public abstract class MailOutageTests(SqlDialect dialect) : DatabaseTest(dialect)
{
    private readonly ArrivalStore _store = new();
    private readonly int _port = FreePort();
    private readonly LogRecorder _logs = new();
    private CancellationTokenSource? _stop;
    private Task? _server;

    protected override void Configure(IServiceCollection services)
    {
        services.Configure<SmtpOptions>(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = _port;
            o.UseTls = false;
            o.From = "Lindenhof Praxis <praxis@clinic.example>";
            o.TimeoutSeconds = 5;
        });
        services.AddLogging(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Information));
    }

    public override async Task InitializeAsync()
    {
        StartSmtp();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await StopSmtpAsync();
        await base.DisposeAsync();
    }

    [DbFact]
    public async Task Emails_booked_while_the_smtp_server_is_down_for_ten_minutes_all_arrive_after_in_booking_order_with_retries_logged_and_the_backlog_measured()
    {
        var seed = await Harness.SeedAsync(remindersEnabled: false);
        var sender = Harness.Get<OutboxSender>();
        var status = Harness.Get<OutboxStatus>();
        var create = Harness.Get<CreateAppointment>();
        await StopSmtpAsync();

        // Ten minutes without a server: an appointment booked every two minutes (two emails each), the sender
        // running every 5 s as it does.
        var booked = new List<Guid>();
        var outageStart = Harness.Time.GetUtcNow();
        for (var second = 0; second < 600; second += 5)
        {
            if (second % 120 == 0)
            {
                var appointment = (await create.HandleAsync(new CreateAppointmentRequest(
                    seed.Patient.Id, [seed.Therapist.Id], outageStart.AddDays(1 + booked.Count), 50))).Unwrap();
                booked.Add(appointment.Id);
            }

            Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
            Harness.Time.Advance(TimeSpan.FromSeconds(5));
        }

        // Nothing is given up or counted against the messages; the backlog and the outage are visible.
        var pending = await Harness.PendingAsync();
        Assert.Equal(booked.Count * 2, pending.Count);
        Assert.All(pending, r => Assert.Equal(0, r.Attempts));
        Assert.All(pending, r => Assert.True(r.LastError is null || r.LastError.StartsWith("unavailable: unreachable (", StringComparison.Ordinal), r.LastError));
        Assert.Contains(pending, r => r.LastError is not null);
        Assert.DoesNotContain(await Harness.AllAsync(), r => r.DiscardedAt is not null);
        var held = Assert.Single(status.Unavailable);
        Assert.Equal(("email", OutboxUnavailableCauses.Unreachable), (held.Channel, held.Cause));
        Assert.Equal(booked.Count * 2, status.Pending);
        Assert.True(status.OldestPendingAge >= TimeSpan.FromMinutes(9), $"oldest waiting {status.OldestPendingAge}");
        var retries = _logs.Of(2106);
        Assert.InRange(retries.Count, 8, 30); // backoff: 10 s doubling, capped at a minute
        Assert.All(retries, line => Assert.Contains("unreachable", line, StringComparison.Ordinal));
        Assert.Contains("teletherapy_outbox_oldest_pending_seconds", await MetricsTextAsync(), StringComparison.Ordinal);

        // The server is back: within the longest wait, every email arrives once, in the order of booking.
        StartSmtp();
        var delivered = 0;
        for (var waited = TimeSpan.Zero; waited <= TimeSpan.FromMinutes(1) && delivered < booked.Count * 2; waited += TimeSpan.FromSeconds(5))
        {
            Harness.Time.Advance(TimeSpan.FromSeconds(5));
            delivered += await sender.RunOnceAsync(CancellationToken.None);
        }

        Assert.Equal(booked.Count * 2, delivered);
        Assert.Empty(await Harness.PendingAsync());
        var arrived = _store.Messages.ToList();
        Assert.Equal(booked.Count * 2, arrived.Select(m => m.MessageId).Distinct().Count());
        var rows = (await Harness.AllAsync()).ToDictionary(r => r.Id);
        var order = arrived.Select(m => booked.IndexOf(rows[Guid.Parse(m.MessageId!.Split('@')[0])].AppointmentId!.Value)).ToList();
        Assert.Equal(order.Order(), order);
        Assert.Empty(status.Unavailable);
        Assert.Single(_logs.Of(2107));

        // No patient data in the log: no address, no name, no link.
        foreach (var line in _logs.All)
        {
            Assert.DoesNotContain("@example.org", line, StringComparison.Ordinal);
            Assert.DoesNotContain("Keller", line, StringComparison.Ordinal);
            Assert.DoesNotContain("/join/", line, StringComparison.Ordinal);
        }
    }

    internal static async Task<string> MetricsTextAsync()
    {
        using var stream = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private void StartSmtp()
    {
        _stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(b => b.Endpoint(new IPEndPoint(IPAddress.Loopback, _port)))
            .Build();
        var provider = new SmtpServer.ComponentModel.ServiceProvider();
        provider.Add(_store);
        _server = new SmtpServer.SmtpServer(options, provider).StartAsync(_stop.Token);
    }

    private async Task StopSmtpAsync()
    {
        if (_stop is null)
        {
            return;
        }

        await _stop.CancelAsync();
        try
        {
            await _server!;
        }
        catch (OperationCanceledException)
        {
            // stopped
        }

        _stop.Dispose();
        _stop = null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ArrivalStore : MessageStore
    {
        public ConcurrentQueue<MimeMessage> Messages { get; } = new();

        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            Messages.Enqueue(await MimeMessage.LoadAsync(stream, cancellationToken));
            return SmtpResponse.Ok;
        }
    }
}

[Dialect(SqlDialect.Sqlite)]
public sealed class MailOutageTestsOnSqlite() : MailOutageTests(SqlDialect.Sqlite);

[Dialect(SqlDialect.Postgres)]
public sealed class MailOutageTestsOnPostgres() : MailOutageTests(SqlDialect.Postgres);

/// <summary>Keeps every formatted log line of the outbox sender, with its event id.</summary>
internal sealed class LogRecorder : ILoggerProvider
{
    private readonly ConcurrentQueue<(int EventId, string Line)> _lines = new();

    public IReadOnlyList<string> All => _lines.Select(l => l.Line).ToList();

    public IReadOnlyList<string> Of(int eventId) => _lines.Where(l => l.EventId == eventId).Select(l => l.Line).ToList();

    public ILogger CreateLogger(string categoryName) => new Recorder(this);

    public void Dispose()
    {
    }

    private sealed class Recorder(LogRecorder owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue((eventId.Id, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}
