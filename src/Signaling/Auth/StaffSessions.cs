using System.Collections.Concurrent;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.SignalR;
using Teletherapy.Scheduling.Staff;

namespace Teletherapy.Signaling.Auth;

/// <summary>
/// Keeps staff sign-ins true to the account: every request with a staff cookie reads the account, so a deactivated
/// account's cookie stops working at once and a changed role applies to the next request; and the session hub's open
/// connections of a deactivated account are closed (<see cref="StaffConnections"/>).
/// </summary>
internal static class StaffSessions
{
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        if (principal?.StaffId() is not { } staffId)
        {
            return; // a portal contact's cookie
        }

        var staff = await context.HttpContext.RequestServices.GetRequiredService<StaffAccounts>().FindAsync(staffId, context.HttpContext.RequestAborted);
        if (staff is not { Active: true })
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return;
        }

        if (principal.RoleOfStaff() != staff.Role || principal.Identity?.Name != staff.Name)
        {
            context.ReplacePrincipal(AuthSetup.StaffPrincipal(staff));
            context.ShouldRenew = true;
        }
    }
}

/// <summary>
/// The open session-hub connections of each signed-in staff member on this node, so that deactivating an account closes
/// them (at once on the node where it happens, within <see cref="StaffConnectionSweep.Interval"/> on the others).
/// </summary>
internal sealed class StaffConnections
{
    private readonly ConcurrentDictionary<string, (Guid StaffId, HubCallerContext Context)> _connections = new(StringComparer.Ordinal);

    public void Add(Guid staffId, HubCallerContext context) => _connections[context.ConnectionId] = (staffId, context);

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    /// <summary>The staff members with open connections here.</summary>
    public IReadOnlyCollection<Guid> StaffIds() => _connections.Values.Select(c => c.StaffId).Distinct().ToList();

    /// <summary>Closes every hub connection of the staff member; the hub's disconnect handling takes them out of their rooms.</summary>
    public int Close(Guid staffId)
    {
        var closed = 0;
        foreach (var (id, entry) in _connections)
        {
            if (entry.StaffId == staffId && _connections.TryRemove(id, out _))
            {
                entry.Context.Abort();
                closed++;
            }
        }

        return closed;
    }
}
