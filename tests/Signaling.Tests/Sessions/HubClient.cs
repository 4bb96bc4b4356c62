using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Teletherapy.Signaling.Sessions;

namespace Teletherapy.Signaling.Tests.Sessions;

/// <summary>One event a hub client received, in arrival order.</summary>
public sealed record HubEvent(int Index, string Name, object? Payload);

/// <summary>
/// A session-hub connection that records every server event in order and lets a test wait for one, bounded by
/// <see cref="HubServer.Timeout"/>. Waits look at events from a mark on, so a test can say "after this action".
/// Events to one connection arrive in the order the server sent them, so "no knock before this snapshot" is exact.
/// </summary>
public sealed class HubClient : IAsyncDisposable
{
    public const string Knock = nameof(ISessionClient.Knock);
    public const string WaitingRoomChanged = nameof(ISessionClient.WaitingRoomChanged);
    public const string StateChanged = nameof(ISessionClient.StateChanged);
    public const string WaitingRoomMessage = nameof(ISessionClient.WaitingRoomMessage);
    public const string PeerJoined = nameof(ISessionClient.PeerJoined);
    public const string PeerLeft = nameof(ISessionClient.PeerLeft);
    public const string SubscribeOffer = nameof(ISessionClient.SubscribeOffer);
    public const string SessionEnded = nameof(ISessionClient.SessionEnded);
    public const string PeerMediaChanged = nameof(ISessionClient.PeerMediaChanged);
    public const string ChatMessage = nameof(ISessionClient.ChatMessage);

    private readonly Lock _lock = new();
    private readonly List<HubEvent> _events = [];
    private readonly List<Waiter> _waiters = [];

    private HubClient(HubConnection connection)
    {
        Connection = connection;
        connection.On<WaitingRoomSnapshot>(WaitingRoomChanged, s => Record(WaitingRoomChanged, s));
        connection.On<WaitingParticipant>(Knock, p => Record(Knock, p));
        connection.On<ParticipantStateNotice>(StateChanged, n => Record(StateChanged, n));
        connection.On<WaitingRoomMessage>(WaitingRoomMessage, m => Record(WaitingRoomMessage, m));
        connection.On<PeerInfo>(PeerJoined, p => Record(PeerJoined, p));
        connection.On<PeerInfo>(PeerLeft, p => Record(PeerLeft, p));
        connection.On<string>(SubscribeOffer, sdp => Record(SubscribeOffer, sdp));
        connection.On<string>(SessionEnded, reason => Record(SessionEnded, reason));
        connection.On<PeerInfo>(PeerMediaChanged, p => Record(PeerMediaChanged, p));
        connection.On<ChatMessage>(ChatMessage, m => Record(ChatMessage, m));
    }

    public HubConnection Connection { get; }

    /// <summary>The participant id of the last accepted join.</summary>
    public string? ParticipantId { get; private set; }

    /// <summary>How many events arrived so far: pass it as <c>after</c> to wait for what comes next.</summary>
    public int Mark
    {
        get
        {
            lock (_lock)
            {
                return _events.Count;
            }
        }
    }

    public static async Task<HubClient> ConnectAsync(Uri hubUrl, CookieContainer? cookies)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(hubUrl, o =>
            {
                if (cookies is not null)
                {
                    o.Cookies = cookies;
                }
            })
            .Build();
        var client = new HubClient(connection);
        using var cts = new CancellationTokenSource(HubServer.Timeout);
        await connection.StartAsync(cts.Token);
        return client;
    }

    // ---- calls ------------------------------------------------------------------------------------

    public Task<T> CallAsync<T>(string method, params object?[] args) =>
        Connection.InvokeCoreAsync<T>(method, args).WaitAsync(HubServer.Timeout);

    public Task CallAsync(string method, params object?[] args) =>
        Connection.InvokeCoreAsync(method, args).WaitAsync(HubServer.Timeout);

    public async Task<JoinResult> JoinAsTherapistAsync(Guid appointmentId)
    {
        var result = await CallAsync<JoinResult>("JoinAsTherapist", appointmentId);
        ParticipantId = result.Accepted ? result.ParticipantId : ParticipantId;
        return result;
    }

    /// <param name="deviceKey">The key a join of this device returned before (a reload or reconnect of the same device); none for a new device.</param>
    public async Task<JoinResult> JoinWithTokenAsync(string token, string? deviceKey = null)
    {
        var result = deviceKey is null
            ? await CallAsync<JoinResult>("JoinWithToken", token)
            : await CallAsync<JoinResult>("JoinWithTokenOnDevice", token, deviceKey);
        ParticipantId = result.Accepted ? result.ParticipantId : ParticipantId;
        return result;
    }

    public Task<bool> AdmitAsync(string participantId) => CallAsync<bool>("Admit", participantId);

    public Task<bool> AdmitAllAsync() => CallAsync<bool>("AdmitAll");

    public Task<bool> DenyAsync(string participantId) => CallAsync<bool>("Deny", participantId);

    public Task<bool> SendToWaitingRoomAsync(string participantId) => CallAsync<bool>("SendToWaitingRoom", participantId);

    public Task<bool> MessageWaitingRoomAsync(string text) => CallAsync<bool>("MessageWaitingRoom", text);

    public Task ReportConnectionCheckAsync(ConnectionCheckSummary summary) => CallAsync("ReportConnectionCheck", summary);

    public Task<string> PublishAsync(string offerSdp) => CallAsync<string>("Publish", offerSdp);

    public Task<string> RequestSubscribeOfferAsync() => CallAsync<string>("RequestSubscribeOffer");

    public Task<string> RequestNewSubscribeConnectionAsync() => CallAsync<string>("RequestNewSubscribeConnection");

    public Task<bool> SetVideoSizeAsync(string? streamId, int width, int height) => CallAsync<bool>("SetVideoSize", streamId, width, height);

    public Task LeaveAsync() => CallAsync("Leave");

    public Task SetMediaStateAsync(bool microphoneOff, bool cameraOff) => CallAsync("SetMediaState", microphoneOff, cameraOff);

    public Task<bool> SendChatMessageAsync(string text) => CallAsync<bool>("SendChatMessage", text);

    public Task<bool> EndSessionAsync() => CallAsync<bool>("EndSession");

    // ---- events -----------------------------------------------------------------------------------

    /// <summary>The events of one kind received so far (from <paramref name="after"/> on).</summary>
    public IReadOnlyList<T> All<T>(string name, int after = 0)
    {
        lock (_lock)
        {
            return _events.Skip(after).Where(e => e.Name == name).Select(e => (T)e.Payload!).ToList();
        }
    }

    /// <summary>The first event of a kind at or after <paramref name="after"/> that matches, waiting for it if need be.</summary>
    public async Task<T> WaitAsync<T>(string name, Func<T, bool>? match = null, int after = 0)
    {
        bool Matches(HubEvent e) => e.Index >= after && e.Name == name && (match is null || match((T)e.Payload!));
        Waiter waiter;
        lock (_lock)
        {
            if (_events.FirstOrDefault(Matches) is { } found)
            {
                return (T)found.Payload!;
            }

            waiter = new Waiter(Matches, new TaskCompletionSource<HubEvent>(TaskCreationOptions.RunContinuationsAsynchronously));
            _waiters.Add(waiter);
        }

        try
        {
            var hit = await waiter.Completion.Task.WaitAsync(HubServer.Timeout);
            return (T)hit.Payload!;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No {name} event arrived within {HubServer.Timeout.TotalSeconds} s. Received: {Describe()}");
        }
        finally
        {
            lock (_lock)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    public Task<ParticipantStateNotice> WaitForStateAsync(string state, int after = 0) =>
        WaitAsync<ParticipantStateNotice>(StateChanged, n => n.State == state, after);

    public Task<WaitingRoomSnapshot> WaitForSnapshotAsync(Func<WaitingRoomSnapshot, bool> match, int after = 0) =>
        WaitAsync(WaitingRoomChanged, match, after);

    /// <summary>Closes the connection the way a dropped network or a closed tab would end it.</summary>
    public Task DropAsync() => Connection.StopAsync().WaitAsync(HubServer.Timeout);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Connection.DisposeAsync().AsTask().WaitAsync(HubServer.Timeout);
        }
        catch (TimeoutException)
        {
            // the server is going away with the test
        }
    }

    public string Describe()
    {
        lock (_lock)
        {
            return string.Join(", ", _events.Select(e => $"{e.Index}:{e.Name}({e.Payload})"));
        }
    }

    private void Record(string name, object? payload)
    {
        List<Waiter> done;
        HubEvent hubEvent;
        lock (_lock)
        {
            hubEvent = new HubEvent(_events.Count, name, payload);
            _events.Add(hubEvent);
            done = _waiters.Where(w => w.Matches(hubEvent)).ToList();
            _waiters.RemoveAll(done.Contains);
        }

        foreach (var waiter in done)
        {
            waiter.Completion.TrySetResult(hubEvent);
        }
    }

    private sealed record Waiter(Func<HubEvent, bool> Matches, TaskCompletionSource<HubEvent> Completion);
}
