using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// The one UDP socket and the one TCP listener that every peer shares. Bound when the host starts,
/// released when it stops; <see cref="IsBound"/> feeds the health check.
/// </summary>
public sealed partial class MediaSockets : IHostedService, IDisposable
{
    private readonly MediaOptions _options;
    private readonly ILogger<MediaSockets> _logger;
    private Socket? _udp;
    private TcpListener? _tcp;

    public MediaSockets(IOptions<MediaOptions> options, ILogger<MediaSockets> logger)
    {
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>True while both the UDP socket and the TCP listener are bound.</summary>
    public bool IsBound => _udp is { IsBound: true } && _tcp is not null;

    /// <summary>The UDP port actually bound (differs from the option when it is 0).</summary>
    public int UdpPort => (_udp?.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    /// <summary>The TCP port actually bound.</summary>
    public int TcpPort => (_tcp?.LocalEndpoint as IPEndPoint)?.Port ?? 0;

    internal Socket? Udp => _udp;

    internal TcpListener? Tcp => _tcp;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(_options.BindAddress);
        var udp = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            udp.ReceiveBufferSize = 4 * 1024 * 1024;
            udp.SendBufferSize = 4 * 1024 * 1024;
            udp.Bind(new IPEndPoint(address, _options.UdpPort));
            var tcp = new TcpListener(address, _options.TcpPort);
            tcp.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            tcp.Start(512);
            _udp = udp;
            _tcp = tcp;
        }
        catch (SocketException ex)
        {
            udp.Dispose();
            LogBindFailed(_options.UdpPort, _options.TcpPort, ex.SocketErrorCode);
            throw;
        }

        LogBound(UdpPort, TcpPort);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _tcp?.Stop();
        _tcp = null;
        _udp?.Dispose();
        _udp = null;
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Media sockets bound: UDP {UdpPort}, TCP {TcpPort}")]
    private partial void LogBound(int udpPort, int tcpPort);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Critical, Message = "Media sockets could not bind UDP {UdpPort} / TCP {TcpPort}: {Error}")]
    private partial void LogBindFailed(int udpPort, int tcpPort, SocketError error);
}
