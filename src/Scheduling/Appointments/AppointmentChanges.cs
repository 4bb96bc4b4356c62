using Microsoft.Extensions.Logging;
using Teletherapy.Scheduling.Audit;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Scheduling.Appointments;

/// <summary>An appointment was cancelled: its links now answer <c>cancelled</c>. <see cref="By"/> is who cancelled it.</summary>
public sealed record AppointmentCancelled(Guid AppointmentId, AuditActor By);

/// <summary>
/// An appointment was moved. <see cref="Appointment"/> is the appointment at its new time (and with its new
/// therapists); the links of <see cref="RevokedLinkContactIds"/> were revoked (they answer <c>link-revoked</c>) and
/// those contacts were emailed new ones. <see cref="By"/> is who moved it.
/// </summary>
public sealed record AppointmentRescheduled(AppointmentFacts Appointment, IReadOnlyCollection<Guid> RevokedLinkContactIds, AuditActor By);

/// <summary>
/// Learns of cancelled and rescheduled appointments once the change is committed, so that a module Scheduling does
/// not know (the session hub, which must tell the people already in the room) can act on it. Register
/// implementations as singletons; every registered listener is called, in the request that made the change.
/// </summary>
public interface IAppointmentChangeListener
{
    Task AppointmentCancelledAsync(AppointmentCancelled change);

    Task AppointmentRescheduledAsync(AppointmentRescheduled change);
}

/// <summary>
/// Tells every <see cref="IAppointmentChangeListener"/> about a committed change. The change stands whatever a
/// listener does: a failing listener is logged and the others are still told.
/// </summary>
internal sealed partial class AppointmentChangeNotifier
{
    private readonly IReadOnlyList<IAppointmentChangeListener> _listeners;
    private readonly ILogger<AppointmentChangeNotifier> _logger;

    public AppointmentChangeNotifier(IEnumerable<IAppointmentChangeListener> listeners, ILogger<AppointmentChangeNotifier> logger)
    {
        _listeners = listeners.ToList();
        _logger = logger;
    }

    public Task CancelledAsync(AppointmentCancelled change) =>
        EachAsync(change.AppointmentId, listener => listener.AppointmentCancelledAsync(change));

    public Task RescheduledAsync(AppointmentRescheduled change) =>
        EachAsync(change.Appointment.Id, listener => listener.AppointmentRescheduledAsync(change));

    private async Task EachAsync(Guid appointmentId, Func<IAppointmentChangeListener, Task> tell)
    {
        foreach (var listener in _listeners)
        {
            try
            {
                await tell(listener).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The change is committed; one listener's failure must not fail the request or silence the others.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogListenerFailed(ex, appointmentId, listener.GetType().Name);
            }
        }
    }

    [LoggerMessage(EventId = 2220, Level = LogLevel.Error, Message = "Telling {Listener} about the change of appointment {AppointmentId} failed")]
    private partial void LogListenerFailed(Exception exception, Guid appointmentId, string listener);
}
