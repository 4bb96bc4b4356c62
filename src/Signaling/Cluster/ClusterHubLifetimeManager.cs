using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Cluster;

/// <summary>
/// The session hub's connections and groups, cluster-wide for the connections a room here was told about. A room's
/// coordinator adds connections to its groups and sends to groups and connections as on one node; members that are
/// connected to another node are reached through that node's <see cref="INodeInbox"/> (one message per node and
/// event), members here through SignalR's own manager. Every group is a room's, so its members are known at its home.
/// </summary>
internal sealed class ClusterHubLifetimeManager : HubLifetimeManager<SessionHub>
{
    private readonly DefaultHubLifetimeManager<SessionHub> _local;
    private readonly JsonSerializerOptions _json;
    private readonly ConcurrentDictionary<string, RemoteConnection> _remote = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _remoteGroups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HubConnectionContext> _here = new(StringComparer.Ordinal);

    public ClusterHubLifetimeManager(ILogger<DefaultHubLifetimeManager<SessionHub>> logger, IOptions<JsonHubProtocolOptions> json)
    {
        _local = new DefaultHubLifetimeManager<SessionHub>(logger);
        _json = json.Value.PayloadSerializerOptions;
    }

    /// <summary>A connection on another node that joined a room here: events for it go to that node's inbox.</summary>
    public void Register(RoomCaller caller) => _remote[caller.ConnectionId] = new RemoteConnection(caller.Node, caller.Inbox, new ConcurrentDictionary<string, byte>(StringComparer.Ordinal));

    /// <summary>The remote connection is gone (it left, dropped or its node died): out of every group.</summary>
    public void Forget(string connectionId)
    {
        if (!_remote.TryRemove(connectionId, out var connection))
        {
            return;
        }

        foreach (var group in connection.Groups.Keys)
        {
            if (_remoteGroups.TryGetValue(group, out var members))
            {
                members.TryRemove(connectionId, out _);
            }
        }
    }

    /// <summary>The remote connections held by a node.</summary>
    public IReadOnlyList<string> ConnectionsOn(SiloAddress node) =>
        _remote.Where(c => c.Value.Node.Equals(node)).Select(c => c.Key).ToList();

    /// <summary>An event from a room elsewhere, for connections of this node.</summary>
    public Task DeliverLocalAsync(string[] connectionIds, string method, string argumentsJson)
    {
        using var document = JsonDocument.Parse(argumentsJson);
        var args = document.RootElement.EnumerateArray().Select(e => (object?)e.Clone()).ToArray();
        return _local.SendConnectionsAsync(connectionIds, method, args);
    }

    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        _here[connection.ConnectionId] = connection;
        return _local.OnConnectedAsync(connection);
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        _here.TryRemove(connection.ConnectionId, out _);
        return _local.OnDisconnectedAsync(connection);
    }

    /// <summary>
    /// Cuts a connection of this node as a network failure would: its client reconnects (to any node) and rejoins with
    /// its device key. Not <see cref="HubConnectionContext.Abort"/>: that closes with "do not reconnect", and the
    /// client would give up.
    /// </summary>
    public void Abort(string connectionId)
    {
        if (_here.TryGetValue(connectionId, out var connection))
        {
            if (connection.GetHttpContext() is { } http)
            {
                http.Abort();
            }
            else
            {
                connection.Abort();
            }
        }
    }

    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _local.SendAllAsync(methodName, args, cancellationToken);

    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        _local.SendAllExceptAsync(methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        SendConnectionsAsync([connectionId], methodName, args, cancellationToken);

    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        var local = connectionIds.Where(id => !_remote.ContainsKey(id)).ToList();
        SendRemote(connectionIds, methodName, args);
        return local.Count == 0 ? Task.CompletedTask : _local.SendConnectionsAsync(local, methodName, args, cancellationToken);
    }

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        SendRemote(RemoteMembers([groupName]), methodName, args);
        return _local.SendGroupAsync(groupName, methodName, args, cancellationToken);
    }

    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        SendRemote(RemoteMembers(groupNames), methodName, args);
        return _local.SendGroupsAsync(groupNames, methodName, args, cancellationToken);
    }

    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        SendRemote(RemoteMembers([groupName]).Except(excludedConnectionIds, StringComparer.Ordinal).ToList(), methodName, args);
        return _local.SendGroupExceptAsync(groupName, methodName, args, excludedConnectionIds, cancellationToken);
    }

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _local.SendUserAsync(userId, methodName, args, cancellationToken);

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _local.SendUsersAsync(userIds, methodName, args, cancellationToken);

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        if (!_remote.TryGetValue(connectionId, out var connection))
        {
            return _local.AddToGroupAsync(connectionId, groupName, cancellationToken);
        }

        connection.Groups[groupName] = 0;
        _remoteGroups.GetOrAdd(groupName, _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal))[connectionId] = 0;
        return Task.CompletedTask;
    }

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        if (!_remote.TryGetValue(connectionId, out var connection))
        {
            return _local.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
        }

        connection.Groups.TryRemove(groupName, out _);
        if (_remoteGroups.TryGetValue(groupName, out var members))
        {
            members.TryRemove(connectionId, out _);
            if (members.IsEmpty)
            {
                _remoteGroups.TryRemove(KeyValuePair.Create(groupName, members));
            }
        }

        return Task.CompletedTask;
    }

    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken) =>
        _local.InvokeConnectionAsync<T>(connectionId, methodName, args, cancellationToken);

    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result) => _local.SetConnectionResultAsync(connectionId, result);

    public override bool TryGetReturnType(string invocationId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type) => _local.TryGetReturnType(invocationId, out type);

    private List<string> RemoteMembers(IReadOnlyList<string> groupNames)
    {
        var members = new List<string>();
        foreach (var group in groupNames)
        {
            if (_remoteGroups.TryGetValue(group, out var ids))
            {
                members.AddRange(ids.Keys);
            }
        }

        return members;
    }

    /// <summary>One inbox message per node; the arguments are serialized as SignalR's JSON protocol would.</summary>
    private void SendRemote(IReadOnlyList<string> connectionIds, string methodName, object?[] args)
    {
        string? json = null;
        foreach (var byNode in connectionIds.Distinct(StringComparer.Ordinal)
                     .Select(id => (Id: id, Found: _remote.TryGetValue(id, out var c), Connection: c))
                     .Where(x => x.Found)
                     .GroupBy(x => x.Connection!.Node))
        {
            json ??= JsonSerializer.Serialize(args, _json);
            _ = byNode.First().Connection!.Inbox.Deliver(byNode.Select(x => x.Id).ToArray(), methodName, json);
        }
    }

    private sealed record RemoteConnection(SiloAddress Node, INodeInbox Inbox, ConcurrentDictionary<string, byte> Groups);
}

/// <summary>This node's <see cref="INodeInbox"/>: events from rooms on other nodes to the hub connections held here.</summary>
internal sealed class NodeInbox(HubLifetimeManager<SessionHub> hub) : INodeInbox
{
    public Task Deliver(string[] connectionIds, string method, string argumentsJson) =>
        ((ClusterHubLifetimeManager)hub).DeliverLocalAsync(connectionIds, method, argumentsJson);
}
