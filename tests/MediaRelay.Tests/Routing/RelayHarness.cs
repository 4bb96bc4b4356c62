using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Teletherapy.MediaRelay.Hosting;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>
/// A real relay on loopback: <see cref="MediaSockets"/> on system-chosen ports bound to 127.0.0.1, a
/// <see cref="MediaRelayService"/> announcing 127.0.0.1, one router, and the synthetic peers joined to it.
/// </summary>
internal sealed class RelayHarness : IDisposable
{
    private readonly List<SyntheticPeer> _peers = [];

    private RelayHarness(MediaSockets sockets, MediaRelayService relay)
    {
        Sockets = sockets;
        Relay = relay;
        Router = relay.GetOrCreateRouter("session-1");
    }

    public MediaSockets Sockets { get; }

    public MediaRelayService Relay { get; }

    public Router Router { get; }

    /// <summary>
    /// Starts the relay; <paramref name="configure"/> may change its options (the limits) before it starts. On
    /// <paramref name="time"/> (a fake clock) the relay's routing and housekeeping see only the time the test lets pass.
    /// </summary>
    public static async Task<RelayHarness> StartAsync(Action<MediaOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new MediaOptions { UdpPort = 0, TcpPort = 0, BindAddress = "127.0.0.1", AnnouncedAddresses = { "127.0.0.1" } };
        configure?.Invoke(options);
        var sockets = new MediaSockets(Options.Create(options), NullLogger<MediaSockets>.Instance);
        var relay = new MediaRelayService(sockets, Options.Create(options), time ?? TimeProvider.System, NullLogger<MediaRelayService>.Instance);
        await sockets.StartAsync(CancellationToken.None);
        await relay.StartAsync(CancellationToken.None);
        return new RelayHarness(sockets, relay);
    }

    /// <summary>A peer that has published audio and video (its publish connection is up), admitted or waiting.</summary>
    public async Task<SyntheticPeer> JoinAndPublishAsync(string id, IceTransportProtocol protocol, bool admit = true, Router? router = null)
    {
        var peer = Join(id, protocol, admit, router);
        await peer.PublishAsync();
        return peer;
    }

    public SyntheticPeer Join(string id, IceTransportProtocol protocol, bool admit = true, Router? router = null)
    {
        var routerPeer = (router ?? Router).GetOrAddPeer(id);
        if (admit)
        {
            // Peers admitted from the start play the therapist: they also see the tracks of peers still waiting.
            routerPeer.SeesWaitingPeers = true;
            routerPeer.Admit();
        }

        var peer = new SyntheticPeer(id, routerPeer, protocol);
        _peers.Add(peer);
        return peer;
    }

    public void Dispose()
    {
        foreach (var peer in _peers)
        {
            peer.Dispose();
        }

        Relay.Dispose();
        Sockets.Dispose();
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds} s waiting for {what()}.");
            }

            await Task.Delay(5);
        }
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) => WaitUntilAsync(condition, timeout, () => what);
}
