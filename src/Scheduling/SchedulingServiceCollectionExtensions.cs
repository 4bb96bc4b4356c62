using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Teletherapy.Scheduling.Access;
using Teletherapy.Scheduling.Appointments;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Calendar;
using Teletherapy.Scheduling.Clinics;
using Teletherapy.Scheduling.Data;
using Teletherapy.Scheduling.Demo;
using Teletherapy.Scheduling.Email;
using Teletherapy.Scheduling.Join;
using Teletherapy.Scheduling.Outbox;
using Teletherapy.Scheduling.Patients;
using Teletherapy.Scheduling.Portal;
using Teletherapy.Scheduling.Reminders;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Scheduling;

public static class SchedulingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the database, migrations (applied on start), the scheduling use cases, the outbox sender and the
    /// reminder scheduler. Configure <see cref="SmtpOptions"/> and <see cref="NotificationOptions"/> with the options
    /// pattern, and register any number of <see cref="IAppointmentChangeListener"/>s (before or after) to learn of
    /// cancelled and rescheduled appointments. SMS go to the outbox folder unless an internal <see cref="ISmsSender"/>
    /// was registered first.
    /// </summary>
    /// <remarks>
    /// The internal services are registered by type. The public use cases the host resolves keep their constructors
    /// internal (the host never builds them, and their dependencies are internal), so they are built here by factory.
    /// </remarks>
    public static IServiceCollection AddScheduling(this IServiceCollection services, SchedulingOptions options)
    {
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<SmtpOptions>();
        services.AddOptions<NotificationOptions>();
        services.AddSingleton(sp => new Database(sp.GetRequiredService<SchedulingOptions>()));
        services.AddSingleton<MigrationRunner>();
        services.AddHostedService<MigrateOnStart>();
        services.AddSingleton(sp => new KeyRingStore(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new SessionRoomStateStore(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new ClusterMembershipStore(sp.GetRequiredService<Database>()));
        services.AddSingleton(sp => new ClusterDrainStore(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>()));

        services.AddSingleton<EmailComposer>();
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<OutboxStatus>();
        services.TryAddSingleton<ISmsSender, OutboxFolderSmsSender>();
        services.AddSingleton<IMailTransport>(sp => sp.GetRequiredService<IOptions<SmtpOptions>>().Value.IsConfigured
            ? new SmtpMailTransport(sp.GetRequiredService<IOptions<SmtpOptions>>())
            : new PickupFolderMailTransport(sp.GetRequiredService<SchedulingOptions>()));

        services.AddSingleton(sp => new ClinicSettings(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new StaffAccounts(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new AddPatient(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new UpdatePatient(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new PatientDirectory(sp.GetRequiredService<Database>()));
        services.AddSingleton(sp => new FirstRunSetup(sp.GetRequiredService<Database>(), sp.GetRequiredService<ClinicSettings>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new SecurityAudit(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SecurityAudit>>()));
        services.AddSingleton(sp => new AccessLog(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AccessLog>>()));
        services.AddSingleton(sp => new AppointmentDetails(sp.GetRequiredService<Database>(), sp.GetRequiredService<AuditLog>()));
        services.AddSingleton(sp => new CreateAppointment(
            sp.GetRequiredService<Database>(), sp.GetRequiredService<EmailComposer>(), sp.GetRequiredService<OutboxSignal>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CreateAppointment>>()));
        services.AddSingleton<AppointmentChangeNotifier>();
        services.AddSingleton(sp => new RescheduleAppointment(
            sp.GetRequiredService<Database>(), sp.GetRequiredService<EmailComposer>(), sp.GetRequiredService<OutboxSignal>(),
            sp.GetRequiredService<AppointmentChangeNotifier>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RescheduleAppointment>>()));
        services.AddSingleton(sp => new CancelAppointment(
            sp.GetRequiredService<Database>(), sp.GetRequiredService<AppointmentChangeNotifier>(), sp.GetRequiredService<EmailComposer>(),
            sp.GetRequiredService<OutboxSignal>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CancelAppointment>>()));
        services.AddSingleton(sp => new EndSession(sp.GetRequiredService<Database>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EndSession>>()));
        services.AddSingleton(sp => new GetCalendar(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new AuditLog(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AuditLog>>()));
        services.AddHostedService<OutageBacklog>();
        services.AddSingleton(sp => new JoinService(sp.GetRequiredService<Database>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<EndSession>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new PortalSignIn(
            sp.GetRequiredService<Database>(), sp.GetRequiredService<EmailComposer>(), sp.GetRequiredService<OutboxSignal>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<NotificationOptions>>(), sp.GetRequiredService<ILogger<PortalSignIn>>()));
        services.AddSingleton(sp => new PortalNotifications(sp.GetRequiredService<Database>(), sp.GetRequiredService<EmailComposer>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new DemoSeeder(
            sp.GetRequiredService<Database>(), sp.GetRequiredService<ClinicSettings>(), sp.GetRequiredService<StaffAccounts>(), sp.GetRequiredService<AddPatient>(),
            sp.GetRequiredService<CreateAppointment>(), sp.GetRequiredService<JoinService>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<NotificationOptions>>()));

        services.AddSingleton<OutboxSender>();
        services.AddSingleton<ReminderScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<ReminderScheduler>());
        services.AddHostedService(sp => sp.GetRequiredService<OutboxSender>());
        return services;
    }

    private sealed class MigrateOnStart(MigrationRunner runner) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => runner.ApplyAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
