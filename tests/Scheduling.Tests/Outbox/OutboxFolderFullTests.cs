using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Outbox;
using Teletherapy.Scheduling.Tests.Infrastructure;

namespace Teletherapy.Scheduling.Tests.Outbox;

/// <summary>
/// The disk of the <c>.eml</c> outbox folder fills up (README: Reliability, Outages): a real file system — a small
/// tmpfs mounted on the outbox folder (the tests run as root) — filled to the last byte, then given space again.
/// Without the mount the test fails and says why; it never passes without a full disk.
/// </summary>
public sealed class OutboxFolderFullTests() : DatabaseTest(SqlDialect.Sqlite)
{
    private readonly LogRecorder _logs = new();
    private string? _mounted;

    protected override void Configure(IServiceCollection services) =>
        services.AddLogging(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Information));

    public override async Task DisposeAsync()
    {
        if (_mounted is not null)
        {
            Run("umount", "-l", _mounted);
        }

        await base.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_full_outbox_disk_holds_the_emails_with_a_clear_error_and_metric_and_leaves_no_partial_file_and_all_are_written_once_there_is_space()
    {
        var seed = await Harness.SeedAsync(remindersEnabled: false);
        var folder = Harness.OutboxFolder;
        Directory.CreateDirectory(folder);
        var (code, text) = Run("mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", folder);
        Assert.True(code == 0, $"This test needs a real full disk: mounting a 256 KiB tmpfs on {folder} failed ({code}: {text}). Run the tests as root (./test.sh does, CAP_SYS_ADMIN needed); the test does not pass without it.");
        _mounted = folder;

        // Fill the file system to the last byte.
        var filler = Path.Combine(folder, "filler.bin");
        await using (var stream = new FileStream(filler, FileMode.CreateNew))
        {
            var block = new byte[4096];
            try
            {
                while (true)
                {
                    stream.Write(block);
                    stream.Flush();
                }
            }
            catch (IOException full)
            {
                Assert.True(OutboxUnavailableException.IsDiskFull(full), $"not a full disk: {full.HResult} {full.Message}");
            }

            try
            {
                stream.SetLength(stream.Position);
            }
            catch (IOException)
            {
                // the bytes that did not fit
            }
        }

        var appointment = (await Harness.Get<CreateAppointment>().HandleAsync(new CreateAppointmentRequest(
            seed.Patient.Id, [seed.Therapist.Id], SchedulingHarness.T0.AddDays(1), 50))).Unwrap();
        var sender = Harness.Get<OutboxSender>();
        var status = Harness.Get<OutboxStatus>();
        var before = DiskFullCount(await MailOutageTests.MetricsTextAsync());
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));

        // The clear error: held channel with its cause (for /healthz), a warning naming the folder, a metric; no half file.
        var held = Assert.Single(status.Unavailable);
        Assert.Equal(("email", OutboxUnavailableCauses.DiskFull), (held.Channel, held.Cause));
        var warning = Assert.Single(_logs.Of(2106));
        Assert.Contains("disk-full", warning, StringComparison.Ordinal);
        Assert.Contains(folder, warning, StringComparison.Ordinal);
        Assert.True(DiskFullCount(await MailOutageTests.MetricsTextAsync()) > before);
        Assert.Contains("teletherapy_outbox_unavailable{channel=\"email\"} 1", await MailOutageTests.MetricsTextAsync(), StringComparison.Ordinal);
        Assert.Equal(["filler.bin"], Directory.GetFiles(folder).Select(Path.GetFileName));
        var pending = await Harness.PendingAsync();
        Assert.Equal(2, pending.Count);
        Assert.All(pending, r => Assert.Equal(0, r.Attempts));
        Assert.Contains(pending, r => r.LastError?.StartsWith("unavailable: disk-full (IOException)", StringComparison.Ordinal) == true);

        // Still full a while later: still held, nothing lost, nothing given up.
        Harness.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Equal(2, (await Harness.PendingAsync()).Count);

        // Space again: both emails are written whole on the next try.
        File.Delete(filler);
        Harness.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(2, await sender.RunOnceAsync(CancellationToken.None));
        Assert.Empty(await Harness.PendingAsync());
        Assert.Empty(status.Unavailable);
        var files = Directory.GetFiles(folder);
        Assert.Equal(pending.Select(r => $"{r.Id:D}.eml").Order(), files.Select(Path.GetFileName).Order());
        foreach (var file in files)
        {
            var message = await MimeMessage.LoadAsync(file);
            Assert.Contains("Join the session", message.TextBody, StringComparison.Ordinal);
            Assert.Single(message.Attachments);
        }

        Assert.All(_logs.All, line => Assert.DoesNotContain("@example.org", line, StringComparison.Ordinal));
        _ = appointment;
    }

    private static double DiskFullCount(string metrics) =>
        metrics.Split('\n').Where(l => l.StartsWith("teletherapy_outbox_unavailable_total{", StringComparison.Ordinal) && l.Contains("disk-full", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static (int Code, string Output) Run(string file, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output.Trim());
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
