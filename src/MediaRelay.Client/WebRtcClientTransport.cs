using System.Net;
using System.Net.Sockets;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Srtp;
using Teletherapy.MediaRelay.Stun;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Client;

/// <summary>
/// The browser's end of a peer connection, for tests and the load generator: a full controlling ICE agent
/// toward one server candidate (UDP, or ICE-TCP with RFC 4571 framing), a DTLS client (we answer the
/// server's <c>a=setup:passive</c> as <c>active</c>, RFC 5763 §5), and SRTP/SRTCP both ways.
/// </summary>
/// <remarks>
/// One socket of its own, read by one dedicated thread, or over UDP by a <see cref="ClientReceiveGroup"/> shared with
/// other transports when <see cref="ReceiveGroup"/> is set and the group is active; received packets are
/// demultiplexed by their first byte (RFC 7983 §7) and decrypted in place in the receive buffer. After <see cref="ConnectAsync"/>, sending
/// and receiving media allocate nothing: SRTP works in the caller's buffer and in the reused receive buffer,
/// TCP framing uses one reused send buffer. Allocation happens only while connecting (ICE, DTLS, and copies of
/// SRTP that arrives before the keys are installed) and in DTLS itself (BouncyCastle, off the media path).
/// </remarks>
internal sealed class WebRtcClientTransport : IDisposable, IPortTickReceiver
{
    /// <summary>How long <see cref="ConnectAsync"/> waits for ICE and DTLS together by default.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a disposed transport keeps its socket open so DTLS can send close_notify.</summary>
    private static readonly TimeSpan CloseNotifyTimeout = TimeSpan.FromSeconds(3);

    private readonly IceCredentials _localIce;
    private readonly DtlsCertificate _certificate;
    private readonly DtlsFingerprint _remoteFingerprint;
    private readonly IPEndPoint _remote;
    private readonly DtlsOptions _dtlsOptions;
    private readonly TimeProvider _time;
    private readonly IceControllingAgent _ice;
    private readonly Lock _iceLock = new();
    private readonly Lock _tcpSendLock = new();
    private readonly byte[] _stunBuffer = new byte[512];
    private readonly SrtpChannel _srtp = new();
    private readonly TaskCompletionSource _iceConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _tcpSendBuffer;
    private Socket? _socket;
    private Thread? _receiveThread;
    private ClientReceiveGroup.Registration? _groupRegistration;
    private ClientUdpPort.Registration? _portRegistration;
    private ITimer? _iceTimer;
    private volatile DtlsSession? _dtls;
    private IWebRtcClientTransportListener? _listener;
    private int _state;
    private volatile bool _dropRtp;
    private long _rtpDropped;

    /// <param name="localIce">Our ICE credentials (<see cref="IceCredentials.Create"/>); the server knows our ufrag from our SDP.</param>
    /// <param name="certificate">Our DTLS certificate; the server checks it against the fingerprint in our SDP.</param>
    /// <param name="remoteUfrag">The server's <c>a=ice-ufrag</c>.</param>
    /// <param name="remotePassword">The server's <c>a=ice-pwd</c>: the key of our checks' MESSAGE-INTEGRITY.</param>
    /// <param name="remoteFingerprint">The server's <c>a=fingerprint</c>; the handshake fails on any other certificate.</param>
    /// <param name="remote">The server candidate's address and port.</param>
    /// <param name="protocol">UDP, or TCP (the server candidate is <c>tcptype passive</c>; we connect actively).</param>
    /// <param name="dtlsOptions">SRTP profiles to offer (in order) and DTLS limits; defaults when null.</param>
    /// <param name="time">Clock of ICE retransmissions and consent; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="iceTieBreaker">ICE-CONTROLLING tie-breaker (random when null); see <see cref="IceControllingAgent"/>.</param>
    public WebRtcClientTransport(
        IceCredentials localIce,
        DtlsCertificate certificate,
        string remoteUfrag,
        string remotePassword,
        DtlsFingerprint remoteFingerprint,
        IPEndPoint remote,
        IceTransportProtocol protocol,
        DtlsOptions? dtlsOptions = null,
        TimeProvider? time = null,
        ulong? iceTieBreaker = null)
    {
        ArgumentNullException.ThrowIfNull(localIce);
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(remoteFingerprint);
        ArgumentNullException.ThrowIfNull(remote);
        _localIce = localIce;
        _certificate = certificate;
        _remoteFingerprint = remoteFingerprint;
        _remote = remote;
        Protocol = protocol;
        _dtlsOptions = dtlsOptions ?? new DtlsOptions();
        _time = time ?? TimeProvider.System;
        _ice = new IceControllingAgent(localIce, remoteUfrag, remotePassword, _time, iceTieBreaker);
    }

    public IceTransportProtocol Protocol { get; }

    public IceCredentials LocalIce => _localIce;

    public DtlsFingerprint LocalFingerprint => _certificate.Fingerprint;

    public WebRtcTransportState State => (WebRtcTransportState)Volatile.Read(ref _state);

    /// <summary>The SRTP profile DTLS chose, once connected.</summary>
    public SrtpProfile? Profile => _srtp.Profile;

    /// <summary>Our socket's local address (the server sees it as the remote of this peer), once the socket is open.</summary>
    public IPEndPoint? LocalEndPoint => Volatile.Read(ref _portRegistration)?.LocalEndPoint ?? _socket?.LocalEndPoint as IPEndPoint;

    /// <summary>Our address as the server reported it in XOR-MAPPED-ADDRESS, once ICE succeeded.</summary>
    public IPEndPoint? MappedAddress
    {
        get
        {
            lock (_iceLock)
            {
                return _ice.MappedAddress;
            }
        }
    }

    /// <summary>
    /// RTP from the server is counted (<see cref="RtpDropped"/>) and dropped as it is read, without being decrypted or
    /// handed to the listener; STUN, DTLS and RTCP are handled as ever, so the connection stays up. For a load that
    /// keeps the server sending to more receivers than the client machine could also take in.
    /// </summary>
    public bool DropRtp
    {
        get => _dropRtp;
        set => _dropRtp = value;
    }

    /// <summary>RTP packets dropped unread while <see cref="DropRtp"/> was set.</summary>
    public long RtpDropped => Volatile.Read(ref _rtpDropped);

    /// <summary>Connectivity and consent checks sent so far, retransmissions included.</summary>
    public int IceChecksSent
    {
        get
        {
            lock (_iceLock)
            {
                return _ice.ChecksSent;
            }
        }
    }

    /// <summary>Connect timeout of <see cref="ConnectAsync"/>; default <see cref="DefaultConnectTimeout"/>.</summary>
    public TimeSpan ConnectTimeout { get; init; } = DefaultConnectTimeout;

    /// <summary>
    /// Threads shared with other transports that read our UDP socket instead of a thread of our own (null: our own, as
    /// does ICE-TCP always, and so does an inactive group).
    /// </summary>
    public ClientReceiveGroup? ReceiveGroup { get; init; }

    /// <summary>
    /// A UDP port shared with other transports, each on a loopback address of its own (null: a socket of our own). When
    /// set and active it takes the place of <see cref="ReceiveGroup"/>: its thread reads for us and media can be sent in
    /// batches (<see cref="SendRtp(Span{byte}, int, ClientSendBatch)"/>). The remote must be an IPv4 address of this host.
    /// </summary>
    public ClientUdpPort? SharedPort { get; init; }

    /// <summary>True while a <see cref="SharedPort"/>, not a socket of ours, carries the connection.</summary>
    public bool OnSharedPort => Volatile.Read(ref _portRegistration) is { IsRemoved: false };

    /// <summary>True while a <see cref="ReceiveGroup"/>, not a thread of ours, reads the socket.</summary>
    public bool ReceivesInGroup => Volatile.Read(ref _groupRegistration) is { IsRemoved: false };

    public void SetListener(IWebRtcClientTransportListener listener) => _listener = listener;

    /// <summary>
    /// Opens the socket, runs ICE until a check succeeds, then the DTLS handshake, and installs the SRTP keys.
    /// Throws <see cref="TimeoutException"/> when that takes longer than <see cref="ConnectTimeout"/> (naming the
    /// stage that stalled), <see cref="IOException"/> when the server refused (STUN error, DTLS failure, socket
    /// error), <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fired. The
    /// transport is disposed on any failure.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, (int)WebRtcTransportState.Connecting, (int)WebRtcTransportState.New) != (int)WebRtcTransportState.New)
        {
            throw new InvalidOperationException("ConnectAsync can be called once, on a new transport.");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ConnectTimeout);
        string stage = "opening the socket";
        try
        {
            await OpenSocketAsync(deadline.Token).ConfigureAwait(false);

            stage = "ICE connectivity checks";
            StartIce();
            await _iceConnected.Task.WaitAsync(deadline.Token).ConfigureAwait(false);

            // RFC 8445 §12.1 with RFC 5763 §5: DTLS starts once ICE has a valid pair; we are the DTLS client.
            stage = "the DTLS handshake";
            var dtls = DtlsClient.Session(_certificate, _remoteFingerprint, SendDtls, _dtlsOptions);
            _dtls = dtls;
            _ = dtls.Closed.ContinueWith(static (_, s) => ((WebRtcClientTransport)s!).Dispose(), this, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            ObjectDisposedException.ThrowIf(State == WebRtcTransportState.Closed, this);
            dtls.Start();
            DtlsSrtpKeys keys = await dtls.Handshake.WaitAsync(deadline.Token).ConfigureAwait(false);
            InstallKeys(keys);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Dispose();
            throw new TimeoutException($"No WebRTC connection to {_remote} over {Protocol} within {ConnectTimeout.TotalSeconds:0.#} s: {stage} did not complete.");
        }
        catch (OperationCanceledException)
        {
            Dispose();
            throw;
        }
        catch (Exception exception)
        {
            Dispose();
            throw new IOException($"No WebRTC connection to {_remote} over {Protocol}: {stage} failed ({exception.Message}).", exception);
        }
    }

    /// <summary>
    /// Encrypts the RTP packet in <c>buffer[..length]</c> in place and sends it. The buffer needs room for the
    /// SRTP tag (<see cref="WebRtcTransport.MaxProtectionOverhead"/> is always enough). False before connect,
    /// after close, on a malformed packet or when the socket refused it.
    /// </summary>
    public bool SendRtp(Span<byte> buffer, int length) => SendSrtp(buffer, length, rtcp: false);

    /// <summary>
    /// As <see cref="SendRtp(Span{byte}, int)"/>, but on a <see cref="SharedPort"/> the packet goes into
    /// <paramref name="batch"/>, sent when its owner flushes it (at once without a shared port, or when the batch refuses it).
    /// </summary>
    public bool SendRtp(Span<byte> buffer, int length, ClientSendBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Volatile.Read(ref _portRegistration) is { } registration
            ? _srtp.ProtectAndSend(buffer, length, rtcp: false, (batch, registration), static (s, packet) => s.batch.TryQueue(s.registration, packet) || s.registration.Port.Send(s.registration, packet))
            : SendRtp(buffer, length);
    }

    /// <summary>Encrypts an RTCP datagram in place (room for tag and SRTCP index needed) and sends it.</summary>
    public bool SendRtcp(Span<byte> buffer, int length) => SendSrtp(buffer, length, rtcp: true);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _state, (int)WebRtcTransportState.Closed) == (int)WebRtcTransportState.Closed)
        {
            return;
        }

        _iceTimer?.Dispose();

        // Nothing more is read from now on, as a thread of our own stops at its next packet.
        LeaveReceiveGroup();
        _iceConnected.TrySetException(new ObjectDisposedException(nameof(WebRtcClientTransport)));

        DtlsSession? dtls = _dtls;
        if (dtls is not null && !dtls.Closed.IsCompleted)
        {
            // RFC 5246 §7.2.1: close_notify tells the server at once that we are gone (it would otherwise wait
            // for consent to lapse). The DTLS thread sends it through this socket, so the socket stays open until
            // that thread is done, but never longer than CloseNotifyTimeout.
            dtls.Close();
            _ = Task.WhenAny(dtls.Closed, Task.Delay(CloseNotifyTimeout, _time))
                .ContinueWith(static (_, s) => ((WebRtcClientTransport)s!).CloseSocket(), this, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        else
        {
            CloseSocket();
        }

        _srtp.Dispose();
        _listener?.OnClosed(this);
    }

    private async Task OpenSocketAsync(CancellationToken cancellationToken)
    {
        if (Protocol == IceTransportProtocol.Udp && SharedPort?.TryAdd(_remote, this) is { } registration)
        {
            // As with a receive group: registered first, so a Dispose racing with us either sees it or is seen here.
            Volatile.Write(ref _portRegistration, registration);
            if (State == WebRtcTransportState.Closed)
            {
                CloseSocket();
                ObjectDisposedException.ThrowIf(true, this);
            }

            return;
        }

        Socket socket;
        if (Protocol == IceTransportProtocol.Udp)
        {
            socket = new Socket(_remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.ReceiveBufferSize = 1024 * 1024;
            socket.SendBufferSize = 1024 * 1024;

            // A connected UDP socket takes datagrams from the server candidate only: the kernel filters the rest.
            socket.Connect(_remote);
        }
        else
        {
            socket = new Socket(_remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _tcpSendBuffer = new byte[2 + Rfc4571Framer.MaxFrame];
            try
            {
                // RFC 6544 §4.1: toward a passive server candidate, the client side is active.
                await socket.ConnectAsync(_remote, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        _socket = socket;
        if (Protocol == IceTransportProtocol.Udp && ReceiveGroup is { } group)
        {
            // Registered before the check below, so a Dispose racing with us either sees the registration (and
            // removes it) or is seen by the check; null (an inactive group) falls back to a thread of our own.
            Volatile.Write(ref _groupRegistration, group.TryAdd(socket, this));
        }

        if (State == WebRtcTransportState.Closed)
        {
            CloseSocket();
            ObjectDisposedException.ThrowIf(true, this);
        }

        if (Volatile.Read(ref _groupRegistration) is not null)
        {
            return;
        }

        _receiveThread = new Thread(Protocol == IceTransportProtocol.Udp ? ReceiveUdp : ReceiveTcp)
        {
            IsBackground = true,
            Name = Protocol == IceTransportProtocol.Udp ? "webrtc-client-udp" : "webrtc-client-tcp",
        };
        _receiveThread.Start(socket);
    }

    private void StartIce()
    {
        lock (_iceLock)
        {
            // A one-shot timer re-armed by each tick, so ticks never overlap.
            _iceTimer = _time.CreateTimer(static s => ((WebRtcClientTransport)s!).OnIceTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _iceTimer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnIceTimer() => IceTick(fromPort: false);

    /// <summary>
    /// On a <see cref="SharedPort"/>, consent checks once connected come from the port's thread, which wakes anyway, and
    /// our timer stops at the connection (a check due is sent at most a port tick late, within RFC 7675's randomized
    /// interval's spread); connectivity checks before it, and every check on a socket of our own, come from our timer.
    /// </summary>
    void IPortTickReceiver.OnPortTick() => IceTick(fromPort: true);

    private void IceTick(bool fromPort)
    {
        bool consentExpired;
        lock (_iceLock)
        {
            if (State == WebRtcTransportState.Closed)
            {
                return;
            }

            bool portOwnsConsent = _ice.State == IceControllingState.Connected && OnSharedPort;
            if (fromPort != portOwnsConsent)
            {
                // The port before connection, or our timer's last tick after it (not re-armed).
                return;
            }

            consentExpired = _ice.IsConsentExpired();
            if (!consentExpired)
            {
                int length = _ice.WriteCheckIfDue(_stunBuffer, out TimeSpan next);
                if (length > 0)
                {
                    SendRaw(_stunBuffer.AsSpan(0, length));
                }

                if (!fromPort)
                {
                    _iceTimer?.Change(next, Timeout.InfiniteTimeSpan);
                }
            }
        }

        if (consentExpired)
        {
            // RFC 7675 §5.1: without consent we must stop sending; the server will time us out as well. Not on the
            // port's thread, which reads for the other transports.
            if (fromPort)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static t => t.Dispose(), this, preferLocal: false);
            }
            else
            {
                Dispose();
            }
        }
    }

    private void InstallKeys(DtlsSrtpKeys keys)
    {
        // Refused once Dispose closed the channel: the keys are dropped there.
        var installed = _srtp.TryInstall(keys, out var early);
        ObjectDisposedException.ThrowIf(!installed, this);

        Interlocked.CompareExchange(ref _state, (int)WebRtcTransportState.Connected, (int)WebRtcTransportState.Connecting);
        foreach (byte[] packet in early)
        {
            HandleSrtp(packet, Demultiplexer.Classify(packet) == PacketClass.Rtcp);
        }
    }

    private void ReceiveUdp(object? state)
    {
        var socket = (Socket)state!;
        byte[] buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        while (State != WebRtcTransportState.Closed)
        {
            int received;
            try
            {
                received = socket.Receive(buffer.AsSpan(), SocketFlags.None);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.MessageSize)
            {
                // An ICMP error for an earlier send (the server port was not open yet) or an oversized datagram.
                continue;
            }
            catch (SocketException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            HandlePacket(buffer.AsSpan(0, received));
        }
    }

    /// <summary>A datagram from the <see cref="ReceiveGroup"/> or the <see cref="SharedPort"/>: handled as <see cref="ReceiveUdp"/> handles one.</summary>
    void IDatagramReceiver.OnDatagram(Span<byte> datagram)
    {
        if (State != WebRtcTransportState.Closed)
        {
            HandlePacket(datagram);
        }
    }

    private void ReceiveTcp(object? state)
    {
        var socket = (Socket)state!;
        byte[] buffer = GC.AllocateUninitializedArray<byte>(16 * 1024, pinned: true);
        var framer = new Rfc4571Framer();
        while (State != WebRtcTransportState.Closed)
        {
            int received;
            try
            {
                received = socket.Receive(buffer.AsSpan(), SocketFlags.None);
            }
            catch (SocketException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            // RFC 4571 §2: a zero-length frame cannot occur in a valid stream; the stream is lost.
            if (received == 0 || !framer.Append(buffer.AsSpan(0, received), this, static (t, frame) => t.HandlePacket(frame)))
            {
                break;
            }
        }

        // The server closed the connection (or sent garbage): there is no other path to fall back to.
        Dispose();
    }

    private void HandlePacket(Span<byte> packet)
    {
        try
        {
            switch (Demultiplexer.Classify(packet))
            {
                case PacketClass.Stun:
                    HandleStun(packet);
                    break;
                case PacketClass.Dtls:
                    _dtls?.Enqueue(packet);
                    break;
                case PacketClass.Rtp when _dropRtp:
                    Volatile.Write(ref _rtpDropped, _rtpDropped + 1);
                    break;
                case PacketClass.Rtp:
                    HandleSrtp(packet, rtcp: false);
                    break;
                case PacketClass.Rtcp:
                    HandleSrtp(packet, rtcp: true);
                    break;
                default:
                    // RFC 7983 §7: anything else on a WebRTC 5-tuple is dropped.
                    break;
            }
        }
        catch (Exception)
        {
            // A failing listener must not stop the receive thread; the packet is lost, later ones are not.
        }
    }

    private void HandleStun(ReadOnlySpan<byte> packet)
    {
        if (StunMessage.TryRead(packet, out var request) && request.Class == StunClass.Request)
        {
            // A full ICE server (not lite) checks our candidate too (RFC 8445 §7.3); only the server candidate can
            // reach this socket (or our address on a shared port), so the request came from _remote.
            Span<byte> response = stackalloc byte[256];
            int responseLength;
            lock (_iceLock)
            {
                responseLength = _ice.WriteResponseToRequest(packet, _remote, response);
            }

            if (responseLength > 0)
            {
                SendRaw(response[..responseLength]);
            }

            return;
        }

        IceResponseOutcome outcome;
        bool wasConnected;
        int errorCode;
        lock (_iceLock)
        {
            wasConnected = _ice.State == IceControllingState.Connected;
            outcome = _ice.HandleResponse(packet);
            errorCode = _ice.ErrorCode;
            if (outcome == IceResponseOutcome.Connected)
            {
                // Re-arm at once so consent checks follow the agent's new schedule rather than the retransmit one; on a
                // shared port they are the port's from now on (OnPortTick), and our timer stops.
                _iceTimer?.Change(OnSharedPort ? Timeout.InfiniteTimeSpan : IceControllingAgent.ConsentInterval, Timeout.InfiniteTimeSpan);
            }
        }

        if (outcome == IceResponseOutcome.Connected)
        {
            _iceConnected.TrySetResult();
        }
        else if (outcome == IceResponseOutcome.Failed)
        {
            var failure = new IOException(errorCode == StunMessages.RoleConflict
                ? "The server answered 487 Role Conflict: it is not an ICE-lite (controlled) agent."
                : $"The server refused the ICE check with STUN error {errorCode}.");
            if (!_iceConnected.TrySetException(failure) || wasConnected)
            {
                // A refused consent check: consent is withdrawn (RFC 7675 §5.1).
                Dispose();
            }
        }
    }

    private void HandleSrtp(Span<byte> packet, bool rtcp)
    {
        // SRTP from the server may arrive while our handshake thread is still installing keys (RFC 5764 §4.2): held.
        var hold = State == WebRtcTransportState.Connecting && _dtls is not null;
        if (_srtp.Unprotect(packet, rtcp, hold, out int length) != SrtpReceipt.Decrypted)
        {
            return;
        }

        IWebRtcClientTransportListener? listener = _listener;
        if (listener is null)
        {
            return;
        }

        if (rtcp)
        {
            listener.OnRtcp(this, packet[..length]);
        }
        else
        {
            listener.OnRtp(this, packet[..length]);
        }
    }

    private bool SendSrtp(Span<byte> buffer, int length, bool rtcp) =>
        _srtp.ProtectAndSend(buffer, length, rtcp, this, static (transport, packet) => transport.SendRaw(packet));

    /// <summary>
    /// Protects an RTP (or, with <paramref name="rtcp"/>, RTCP) packet in place as <see cref="SendRtp"/> would, using up
    /// its SRTP index, but does not send it: a test sends it later, twice, or altered, with <see cref="SendProtected"/>.
    /// </summary>
    internal bool Protect(Span<byte> buffer, int length, bool rtcp, out int protectedLength) =>
        _srtp.TryProtect(buffer, length, rtcp, out protectedLength);

    /// <summary>Sends a datagram exactly as given (an SRTP packet from <see cref="Protect"/>), after connect.</summary>
    internal bool SendProtected(ReadOnlySpan<byte> datagram) => State == WebRtcTransportState.Connected && SendRaw(datagram);

    private void SendDtls(ReadOnlySpan<byte> datagram) => SendRaw(datagram);

    private bool SendRaw(ReadOnlySpan<byte> packet)
    {
        if (Volatile.Read(ref _portRegistration) is { } registration)
        {
            return registration.Port.Send(registration, packet);
        }

        Socket? socket = _socket;
        if (socket is null)
        {
            return false;
        }

        try
        {
            if (Protocol == IceTransportProtocol.Udp)
            {
                return socket.Send(packet, SocketFlags.None) == packet.Length;
            }

            lock (_tcpSendLock)
            {
                // RFC 4571 §2: every packet on the stream carries a 16-bit length prefix.
                int framed = Rfc4571Framer.Frame(packet, _tcpSendBuffer!);
                if (framed == 0)
                {
                    return false;
                }

                int sent = 0;
                while (sent < framed)
                {
                    sent += socket.Send(_tcpSendBuffer!.AsSpan(sent, framed - sent), SocketFlags.None);
                }

                return true;
            }
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Takes our socket out of the <see cref="ReceiveGroup"/> (once; always before the socket is disposed).</summary>
    private void LeaveReceiveGroup() => Interlocked.Exchange(ref _groupRegistration, null)?.Remove();

    private void CloseSocket()
    {
        LeaveReceiveGroup();

        // On a shared port nothing is read once we are closed (OnDatagram checks the state); the address is freed
        // only now, after close_notify was sent from it.
        Interlocked.Exchange(ref _portRegistration, null)?.Remove();
        Socket? socket = Interlocked.Exchange(ref _socket, null);
        if (socket is null)
        {
            return;
        }

        if (Protocol == IceTransportProtocol.Tcp)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
        }

        socket.Dispose();
    }
}
