using Teletherapy.LoadTests.Media;
using Teletherapy.MediaRelay.Client;

namespace Teletherapy.LoadTests;

/// <summary>
/// How the tool's connections reach the relay: shared UDP ports (<see cref="ClientUdpPort"/>, one per receive thread,
/// participants spread over them in turn, each connection on an address of its own), or sockets of their own read by a
/// <see cref="ClientReceiveGroup"/> (or, with no threads, each by a thread of its own).
/// </summary>
internal sealed class ClientSockets : IDisposable
{
    private readonly ClientUdpPort[] _ports;
    private readonly ClientReceiveGroup? _group;
    private int _next;

    public ClientSockets(LoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var coalesce = (int)(options.ReceiveCoalesce.Ticks / TimeSpan.TicksPerMicrosecond);
        var threads = options.EffectiveReceiveThreads;
        if (options.EffectiveSharedClientSockets)
        {
            _ports = [.. Enumerable.Range(0, threads).Select(i => new ClientUdpPort($"load-receive-{i}", coalesce))];
            if (_ports.All(p => p.IsActive))
            {
                return;
            }

            // Shared ports need Linux: elsewhere the tool falls back to sockets of their own.
            foreach (var port in _ports)
            {
                port.Dispose();
            }
        }

        _ports = [];
        _group = threads > 0 ? new ClientReceiveGroup(threads, "load-receive", coalesce) : null;
    }

    /// <summary>True when the connections share ports.</summary>
    public bool Shared => _ports.Length > 0;

    /// <summary>Threads that receive for all connections (0: a thread per connection).</summary>
    public int ReceiveThreads => Shared ? _ports.Length : _group is { IsActive: true } group ? group.ThreadCount : 0;

    /// <summary>Wake-ups of the receive threads that found data, so far.</summary>
    public long WakeUps => Shared ? _ports.Sum(p => p.WakeUps) : _group?.WakeUps ?? 0;

    /// <summary>Datagrams the receive threads read, so far.</summary>
    public long Datagrams => Shared ? _ports.Sum(p => p.Datagrams) : _group?.Datagrams ?? 0;

    /// <summary>A new participant on the next port in turn (or the receive group).</summary>
    public MediaParticipant NewParticipant(string name, MediaSet media, LoadStats stats, bool simulcast, bool listens = true) =>
        new(name, media, stats, simulcast, Shared ? null : _group, Shared ? _ports[(Interlocked.Increment(ref _next) & int.MaxValue) % _ports.Length] : null)
        {
            Listens = listens,
        };

    public void Dispose()
    {
        foreach (var port in _ports)
        {
            port.Dispose();
        }

        _group?.Dispose();
    }
}
