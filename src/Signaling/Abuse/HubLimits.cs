using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// Limits on the session hub: new and open connections per client, method calls per connection (a token bucket),
/// and join-link lookups per client. A refused connection is closed; a refused call fails with
/// <c>rate-limited</c> and does nothing.
/// </summary>
internal sealed class HubLimits : IHubFilter
{
    private const string BucketKey = "teletherapy.calls";
    private const string ClientKey = "teletherapy.client";

    private readonly ThrottlingOptions _options;
    private readonly FixedWindows _connects;
    private readonly FixedWindows _joinLookups;
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    public HubLimits(IOptions<ThrottlingOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _connects = new FixedWindows(time, TimeSpan.FromMinutes(1));
        _joinLookups = new FixedWindows(time, TimeSpan.FromMinutes(1));
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var client = ClientAddress.PartitionOf(context.Context.GetHttpContext()?.Connection.RemoteIpAddress);
        if (!_connects.TryTake(client, Math.Max(1, _options.HubConnectsPerMinute), out _))
        {
            Refuse("hub-connect");
        }

        var open = _open.AddOrUpdate(client, 1, (_, n) => n + 1);
        context.Context.Items[ClientKey] = client;
        if (open > _options.HubConnectionsPerClient)
        {
            Release(client);
            context.Context.Items.Remove(ClientKey);
            Refuse("hub-connections");
        }

        context.Context.Items[BucketKey] = new CallBudget(Math.Max(1, _options.HubCallsPerSecond));
        await next(context);
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (invocationContext.Context.Items.TryGetValue(BucketKey, out var value) && value is CallBudget budget && !budget.TryTake())
        {
            Refuse("hub-calls");
        }

        if (invocationContext.HubMethodName is "JoinWithToken" or "JoinWithTokenOnDevice"
            && invocationContext.Context.Items.TryGetValue(ClientKey, out var client) && client is string key)
        {
            if (!_joinLookups.TryTake(key, Math.Max(1, _options.JoinLookupsPerMinute), out _))
            {
                Refuse("join-lookup");
            }
        }

        return await next(invocationContext);
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception);
        }
        finally
        {
            if (context.Context.Items.TryGetValue(ClientKey, out var client) && client is string key)
            {
                Release(key);
            }
        }
    }

    private static void Refuse(string limit)
    {
        Throttling.LimitsHit.WithLabels(limit).Inc();
        throw new HubException("rate-limited");
    }

    private void Release(string client)
    {
        // Remove the entry when the last connection goes, so the dictionary holds only clients with open connections.
        while (_open.TryGetValue(client, out var n))
        {
            if (n <= 1 ? _open.TryRemove(new KeyValuePair<string, int>(client, n)) : _open.TryUpdate(client, n - 1, n))
            {
                return;
            }
        }
    }

    /// <summary>
    /// A token bucket per connection: twice the rate at most, refilled by the rate each whole second since the last
    /// refill. Computed when a call comes, so an idle connection costs no timer.
    /// </summary>
    private sealed class CallBudget(int perSecond)
    {
        private readonly Lock _lock = new();
        private long _refilledAt = Environment.TickCount64;
        private int _tokens = perSecond * 2;

        public bool TryTake()
        {
            lock (_lock)
            {
                var seconds = (Environment.TickCount64 - _refilledAt) / 1000;
                if (seconds > 0)
                {
                    _tokens = (int)Math.Min(perSecond * 2L, _tokens + (seconds * perSecond));
                    _refilledAt += seconds * 1000;
                }

                if (_tokens == 0)
                {
                    return false;
                }

                _tokens--;
                return true;
            }
        }
    }
}
