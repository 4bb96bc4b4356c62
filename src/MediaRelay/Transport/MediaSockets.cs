using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Stun;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// The one UDP port and the one TCP listener that every peer shares. Bound when the host starts,
/// released when it stops; <see cref="IsBound"/> feeds the health check. UDP is read by a dedicated
/// thread with blocking receives into one reused buffer (no allocation per packet), or by several, each on its own
/// socket of the same port (<see cref="MediaOptions.UdpReceiveThreads"/>); each packet is
/// handed synchronously to the endpoint its remote is bound to, or — for a first STUN check — to the
/// endpoint whose ICE ufrag it names. Anything else is dropped and counted. On Linux the thread reads and sends in
/// batches (<see cref="LinuxUdpBatch"/>).
/// ICE-TCP connections are bounded: at most <see cref="MediaOptions.MaxTcpConnections"/> in all and
/// <see cref="MediaOptions.MaxTcpConnectionsPerAddress"/> per address range (further connects are closed at once),
/// each closed unless a valid STUN check comes within <see cref="MediaOptions.TcpIdleTimeoutSeconds"/>, and none
/// holds a receive buffer while it has nothing to read (see <see cref="TcpConnection"/> for the send side).
/// </summary>
public sealed partial class MediaSockets : IHostedService, IDisposable
{
    /// <summary>A read takes at most this much; the buffer is rented only while data is waiting.</summary>
    private const int TcpReadBufferBytes = 16 * 1024;

    private readonly MediaOptions _options;
    private readonly ILogger<MediaSockets> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _tcpLimitsLock = new();
    private readonly Dictionary<AddressRange, int> _tcpPerAddress = [];
    private readonly ConcurrentDictionary<long, TcpConnection> _tcpConnections = new();
    private readonly Lock _togetherLock = new();
    private Socket? _udp;
    private Socket[] _udpSockets = [];
    private long[] _udpDatagrams = [];
    private LinuxUdpBatch? _together;
    private TcpListener? _tcp;
    private long _nextTcpConnectionId;
    private int _tcpOpen;

    public MediaSockets(IOptions<MediaOptions> options, ILogger<MediaSockets> logger, TimeProvider? time = null)
    {
        _options = options.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>True while both the UDP socket and the TCP listener are bound.</summary>
    public bool IsBound => _udp is { IsBound: true } && _tcp is not null;

    /// <summary>The UDP port actually bound (differs from the option when it is 0).</summary>
    public int UdpPort => (_udp?.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    /// <summary>The TCP port actually bound.</summary>
    public int TcpPort => (_tcp?.LocalEndpoint as IPEndPoint)?.Port ?? 0;

    internal TransportDirectory Directory { get; } = new();

    /// <summary>Open ICE-TCP connections.</summary>
    internal int TcpConnectionCount => _tcpConnections.Count;

    /// <summary>The open ICE-TCP connections (tests look at their buffers).</summary>
    internal ICollection<TcpConnection> TcpConnections => _tcpConnections.Values;

    internal Socket? Udp => _udp;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(_options.BindAddress);
        var receivers = OperatingSystem.IsLinux() ? _options.UdpReceiveThreads : 1;
        var udp = new List<Socket>(receivers);
        TcpListener? tcp = null;
        try
        {
            // The first socket takes the port (the system's choice when it is 0); the others join it.
            udp.Add(BindUdp(address, _options.UdpPort, reusePort: receivers > 1));
            var port = ((IPEndPoint)udp[0].LocalEndPoint!).Port;
            while (udp.Count < receivers)
            {
                udp.Add(BindUdp(address, port, reusePort: true));
            }

            tcp = new TcpListener(address, _options.TcpPort);
            tcp.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            tcp.Start(512);
        }
        catch (SocketException ex)
        {
            udp.ForEach(socket => socket.Dispose());
            tcp?.Stop();
            LogBindFailed(_options.UdpPort, _options.TcpPort, ex.SocketErrorCode);
            throw;
        }

        _udp = udp[0];
        _udpSockets = [.. udp];
        _udpDatagrams = new long[udp.Count];
        _tcp = tcp;
        for (var i = 0; i < _udpSockets.Length; i++)
        {
            var name = _udpSockets.Length == 1 ? "media-udp-receive" : $"media-udp-receive-{i}";
            new Thread(ReceiveUdp) { IsBackground = true, Name = name }.Start(i);
        }

        _ = AcceptTcpAsync(tcp, _stopping.Token);
        LogBound(UdpPort, TcpPort);
        return Task.CompletedTask;
    }

    /// <summary>How many UDP sockets (and receive threads) share the port.</summary>
    internal int UdpReceiveThreads => _udpSockets.Length;

    /// <summary>The UDP socket of receive thread <paramref name="index"/> (tests read its options).</summary>
    internal Socket UdpSocket(int index) => _udpSockets[index];

    /// <summary>Datagrams the receive thread <paramref name="index"/> has read.</summary>
    internal long UdpDatagramsReceived(int index) => Volatile.Read(ref _udpDatagrams[index]);

    private static Socket BindUdp(IPAddress address, int port, bool reusePort)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.SendBufferSize = 4 * 1024 * 1024;
            if (reusePort)
            {
                LinuxSocketCalls.EnableReusePort(socket);
            }

            if (OperatingSystem.IsLinux() && address.AddressFamily == AddressFamily.InterNetwork)
            {
                LinuxSocketCalls.DontFragment(socket);
            }

            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (!_stopping.IsCancellationRequested)
        {
            _stopping.Cancel();
        }

        _tcp?.Stop();
        _tcp = null;
        foreach (var socket in _udpSockets)
        {
            socket.Dispose();
        }

        lock (_togetherLock)
        {
            _together?.Dispose();
            _together = null;
        }

        _udp = null;
    }

    /// <summary>
    /// Runs <paramref name="sends"/> on this thread with what it sends on the UDP port gathered and sent with one
    /// <c>sendmmsg(2)</c> for every <see cref="LinuxUdpBatch.Capacity"/> datagrams, at the end (or as the queue fills),
    /// as a receive thread's sends are: for a thread that sends to many peers at once, as housekeeping's reports do (one
    /// call a datagram was hundreds of calls a second). One run at a time; where UDP is not batched (not Linux,
    /// <c>Media__BatchedUdp=false</c>), not bound, or on a thread that already gathers its sends, they go out as they come.
    /// </summary>
    internal void SendTogether<TState>(TState state, Action<TState> sends)
    {
        ArgumentNullException.ThrowIfNull(sends);
        if (LinuxUdpBatch.IsGathering)
        {
            // A receive thread, or a run inside a run: its sends already join a batch.
            sends(state);
            return;
        }

        lock (_togetherLock)
        {
            if (_together is null && _options.BatchedUdp && LinuxUdpBatch.IsSupported && _udp is { } udp && !_stopping.IsCancellationRequested)
            {
                _together = new LinuxUdpBatch(udp, _udpSockets);
            }

            var batch = _together;
            if (batch is null)
            {
                sends(state);
                return;
            }

            batch.BeginSends();
            try
            {
                sends(state);
            }
            finally
            {
                batch.FlushSends();
            }
        }
    }

    /// <summary><c>sendmmsg</c> calls made for <see cref="SendTogether"/> so far (for tests).</summary>
    internal long SendTogetherCalls
    {
        get
        {
            lock (_togetherLock)
            {
                return _together?.SendCalls ?? 0;
            }
        }
    }

    /// <summary>
    /// Hands one received packet to its endpoint. <paramref name="newPath"/> is only called for a first STUN
    /// check from an unknown remote, so a path object is made once per remote, not per packet. The caller counts it
    /// (<see cref="CountReceived"/>): per packet, or per batch where it reads them in batches.
    /// </summary>
    internal void Dispatch<TState>(RemoteKey key, Span<byte> packet, TState state, Func<TState, PacketPath> newPath)
    {
        var packetClass = Demultiplexer.Classify(packet);
        if (Directory.TryGet(key, out var binding))
        {
            binding.Endpoint.OnPacket(binding.Path, packet, packetClass);
            return;
        }

        // RFC 7983 + ICE: only an ICE check may open a new path; everything else from an unknown remote is dropped.
        if (packetClass == PacketClass.Stun
            && StunMessage.TryRead(packet, out var message)
            && message.TryGetUsername(out var username)
            && Directory.TryGetByUfrag(IceLiteAgent.LocalUfragOf(username), out var endpoint))
        {
            endpoint!.OnPacket(newPath(state), packet, packetClass);
            return;
        }

        UnknownRemoteDrop(packet, packetClass).Inc();
    }

    /// <summary>
    /// Why a packet from a remote with no valid ICE check is dropped: a well-formed STUN message whose USERNAME names no
    /// transport of ours is a check with wrong credentials (stun-rejected, as one with a wrong MESSAGE-INTEGRITY is at
    /// its transport); a DTLS record (a content type and a DTLS version, RFC 6347 §4.1) is a handshake that did not
    /// follow a check (dtls-before-ice); anything else is unknown-remote.
    /// </summary>
    internal static Prometheus.Counter.Child UnknownRemoteDrop(ReadOnlySpan<byte> packet, PacketClass packetClass) => packetClass switch
    {
        PacketClass.Stun when StunMessage.TryRead(packet, out _) => RelayMetrics.DroppedStunRejected,
        PacketClass.Dtls when IsDtlsRecordHeader(packet) => RelayMetrics.DroppedDtlsBeforeIce,
        _ => RelayMetrics.DroppedUnknownRemote,
    };

    /// <summary>Counts packets received on the media port (<c>teletherapy_relay_packets_received_total</c>, bytes beside it).</summary>
    internal static void CountReceived(int packets, long bytes)
    {
        RelayMetrics.PacketsReceived.Inc(packets);
        RelayMetrics.BytesReceived.Inc(bytes);
    }

    /// <summary>A DTLS record header: content type 20–25, major version 254 (DTLS 1.0 is 254.255, 1.2 is 254.253), 13 bytes.</summary>
    private static bool IsDtlsRecordHeader(ReadOnlySpan<byte> packet) =>
        packet.Length >= 13 && packet[0] is >= 20 and <= 25 && packet[1] == 0xFE && packet[2] is 0xFD or 0xFF;

    private void ReceiveUdp(object? state)
    {
        var index = (int)state!;
        var socket = _udpSockets[index];
        if (_options.BatchedUdp && LinuxUdpBatch.IsSupported)
        {
            ReceiveUdpBatched(socket, ref _udpDatagrams[index]);
            return;
        }

        var buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        var from = new SocketAddress(socket.AddressFamily);
        while (!_stopping.IsCancellationRequested)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(buffer, SocketFlags.None, from);
                RelayMetrics.UdpReceiveCalls.Inc();
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.MessageSize)
            {
                // An ICMP error for an earlier send, or an oversized datagram: nothing to do with the next packet.
                continue;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.Interrupted or SocketError.OperationAborted or SocketError.Shutdown)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            Volatile.Write(ref _udpDatagrams[index], _udpDatagrams[index] + 1);
            CountReceived(1, received);
            DispatchUdp(socket, from, buffer.AsSpan(0, received));
        }
    }

    /// <summary>One received datagram to its endpoint; a failure is counted and logged, and the loop goes on.</summary>
    private void DispatchUdp(Socket socket, SocketAddress from, Span<byte> packet)
    {
        try
        {
            var key = RemoteKey.FromSocketAddress(from);
            Dispatch(key, packet, (socket, from, key), static s => new UdpPacketPath(s.socket, s.from, s.key));
        }
#pragma warning disable CA1031 // One bad packet or endpoint must not stop the receive loop for everyone.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RelayMetrics.DroppedMalformed.Inc();
            LogReceiveError(ex);
        }
    }

    /// <summary>
    /// The receive loop on Linux: each wake-up reads every datagram waiting with one call, and what handling them sends
    /// leaves with one call at the end (<see cref="LinuxUdpBatch"/>). The wait is bounded so the loop sees the stop
    /// flag while nothing arrives.
    /// </summary>
    private void ReceiveUdpBatched(Socket socket, ref long datagrams)
    {
        using var batch = new LinuxUdpBatch(socket, _udpSockets);
        while (!_stopping.IsCancellationRequested)
        {
            var received = batch.Receive(waitMilliseconds: 250);
            if (received < 0)
            {
                return;
            }

            Volatile.Write(ref datagrams, datagrams + received);
            batch.BeginSends();
            var dispatched = 0;
            var bytes = 0L;
            try
            {
                for (var i = 0; i < received; i++)
                {
                    if (!batch.TryGet(i, out var packet, out var from))
                    {
                        RelayMetrics.DroppedMalformed.Inc();
                        continue;
                    }

                    dispatched++;
                    bytes += packet.Length;
                    DispatchUdp(socket, from, packet);
                }
            }
            finally
            {
                // Once a batch, not a packet: the counters' memory is touched once a wake-up.
                if (dispatched > 0)
                {
                    CountReceived(dispatched, bytes);
                }

                batch.FlushSends();
            }

            if (received is > 0 and < LinuxUdpBatch.Capacity && _options.UdpCoalesceMicroseconds > 0)
            {
                LinuxSocketCalls.SleepMicroseconds(_options.UdpCoalesceMicroseconds);
            }
        }
    }

    private async Task AcceptTcpAsync(TcpListener listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            if (!TryAdmitTcp(socket, out var range))
            {
                continue;
            }

            TcpConnection connection;
            try
            {
                connection = new TcpConnection(
                    socket,
                    Interlocked.Increment(ref _nextTcpConnectionId),
                    _time,
                    _options.TcpSendQueueBytes,
                    TimeSpan.FromSeconds(_options.TcpSendStallSeconds));
            }
            catch (SocketException)
            {
                // Reset before we got to it.
                socket.Dispose();
                ReleaseTcp(range);
                continue;
            }

            _tcpConnections[connection.Id] = connection;
            RelayMetrics.TcpConnections.Inc();
            connection.StartIdleTimer(TimeSpan.FromSeconds(_options.TcpIdleTimeoutSeconds));
            _ = ReadTcpAsync(connection, range, stopping);
        }
    }

    /// <summary>
    /// Counts a new connection against the caps, or closes it at once (with a reset, so neither side keeps state) and
    /// counts the refusal.
    /// </summary>
    private bool TryAdmitTcp(Socket socket, out AddressRange range)
    {
        range = default;
        Prometheus.Counter.Child? refused = null;
        try
        {
            if (socket.RemoteEndPoint is IPEndPoint remote)
            {
                range = AddressRange.Of(remote.Address);
                lock (_tcpLimitsLock)
                {
                    _tcpPerAddress.TryGetValue(range, out var fromRange);
                    if (_tcpOpen >= _options.MaxTcpConnections)
                    {
                        refused = RelayMetrics.TcpRefusedConnectionLimit;
                    }
                    else if (fromRange >= _options.MaxTcpConnectionsPerAddress)
                    {
                        refused = RelayMetrics.TcpRefusedAddressLimit;
                    }
                    else
                    {
                        _tcpPerAddress[range] = fromRange + 1;
                        _tcpOpen++;
                        return true;
                    }
                }
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        refused?.Inc();
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }

        socket.Dispose();
        return false;
    }

    private void ReleaseTcp(AddressRange range)
    {
        lock (_tcpLimitsLock)
        {
            _tcpOpen--;
            if (_tcpPerAddress.TryGetValue(range, out var count) && count > 1)
            {
                _tcpPerAddress[range] = count - 1;
            }
            else
            {
                _tcpPerAddress.Remove(range);
            }
        }
    }

    private async Task ReadTcpAsync(TcpConnection connection, AddressRange range, CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                // Wait for data without a buffer: an idle connection holds none.
                await connection.Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, stopping).ConfigureAwait(false);
                var buffer = ArrayPool<byte>.Shared.Rent(TcpReadBufferBytes);
                try
                {
                    var read = await connection.Socket.ReceiveAsync(buffer.AsMemory(0, TcpReadBufferBytes), SocketFlags.None, stopping).ConfigureAwait(false);
                    if (read == 0 || !connection.Framer.Append(buffer.AsSpan(0, read), (this, connection), static (s, frame) =>
                        {
                            CountReceived(1, frame.Length);
                            s.Item1.Dispatch(s.connection.Key, frame, s.connection, static c => c);
                        }))
                    {
                        break;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
#pragma warning disable CA1031 // An endpoint failure on one connection closes that connection only.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogReceiveError(ex);
        }
        finally
        {
            connection.Dispose();
            if (Directory.TryGet(connection.Key, out var binding))
            {
                binding.Endpoint.OnPathClosed(connection);
                Directory.Unbind(connection.Key, binding.Endpoint);
            }

            _tcpConnections.TryRemove(connection.Id, out _);
            ReleaseTcp(range);
            RelayMetrics.TcpConnections.Dec();
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Media sockets bound: UDP {UdpPort}, TCP {TcpPort}")]
    private partial void LogBound(int udpPort, int tcpPort);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Critical, Message = "Media sockets could not bind UDP {UdpPort} / TCP {TcpPort}: {Error}")]
    private partial void LogBindFailed(int udpPort, int tcpPort, SocketError error);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "A media packet could not be handled")]
    private partial void LogReceiveError(Exception exception);
}
