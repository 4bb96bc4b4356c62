using System.Buffers;
using System.Diagnostics;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Transport;

/// <summary>
/// The server side of one browser's peer connection on the shared sockets: ICE-lite (answers checks,
/// follows nomination), DTLS server on its own thread, SRTP/SRTCP both ways. Receive-side work runs
/// synchronously on the socket thread and reports decrypted packets to its listener; sends come from
/// whichever thread forwards to this peer, so each SRTP direction has its own lock.
/// </summary>
internal sealed class WebRtcTransport : IDisposable
{
    /// <summary>DTLS datagrams held before the browser's fingerprint is known (its answer may trail its first flight).</summary>
    private const int MaxEarlyPackets = 32;

    private readonly TransportDirectory _directory;
    private readonly DtlsCertificate _certificate;
    private readonly TimeProvider _time;
    private readonly DtlsOptions _dtlsOptions;
    private readonly DtlsHandshakeSlots? _handshakeSlots;
    private readonly IceLiteAgent _ice;
    private readonly SrtpChannel _srtp = new();
    private readonly List<byte[]> _earlyDtls = [];
    private readonly IceCandidatePairs<PacketPath> _paths;
    private readonly byte[] _stunResponse = new byte[512];
    private IWebRtcTransportListener? _listener;
    private DtlsSession? _dtls;
    private DtlsFingerprint? _remoteFingerprint;
    private volatile PacketPath? _selected;
    private byte[]? _retiredUfrag;
    private long _dtlsStarted;
    private int _holdsHandshakeSlot;
    private int _state;
    private long _srtpAuthFailures;
    private long _srtpReplays;
    private long _srtpOutOfWindow;

    /// <param name="handshakeSlots">Shared cap on DTLS handshakes in progress; none when null.</param>
    public WebRtcTransport(
        string id,
        TransportDirectory directory,
        DtlsCertificate certificate,
        TimeProvider time,
        DtlsOptions? dtlsOptions = null,
        DtlsHandshakeSlots? handshakeSlots = null)
    {
        Id = id;
        _directory = directory;
        _certificate = certificate;
        _time = time;
        _dtlsOptions = dtlsOptions ?? new DtlsOptions();
        _handshakeSlots = handshakeSlots;
        _paths = new IceCandidatePairs<PacketPath>(time);
        _ice = new IceLiteAgent(IceCredentials.Create());
        while (!_directory.RegisterUfrag(_ice.Local.UfragBytes, this))
        {
            // A ufrag collision among 48-bit random values is vanishingly rare; take another.
            _ice.Restart(IceCredentials.Create(), null);
        }

        CreatedTimestamp = time.GetTimestamp();
        RelayMetrics.Peers.Inc();
    }

    public string Id { get; }

    public IceCredentials LocalIce => _ice.Local;

    public DtlsFingerprint LocalFingerprint => _certificate.Fingerprint;

    public WebRtcTransportState State => (WebRtcTransportState)Volatile.Read(ref _state);

    public long CreatedTimestamp { get; }

    /// <summary>When the last authenticated STUN check arrived (0 = never).</summary>
    public long LastConsentTimestamp => _ice.LastValidCheckTimestamp;

    /// <summary>SRTP/SRTCP packets of this transport refused because their tag did not verify (or they were malformed).</summary>
    public long SrtpAuthFailures => Volatile.Read(ref _srtpAuthFailures);

    /// <summary>SRTP/SRTCP packets of this transport refused as replays.</summary>
    public long SrtpReplays => Volatile.Read(ref _srtpReplays);

    /// <summary>SRTP/SRTCP packets of this transport refused as older than the replay window.</summary>
    public long SrtpOutOfWindow => Volatile.Read(ref _srtpOutOfWindow);

    /// <summary>The SRTP profile DTLS chose, once connected.</summary>
    public SrtpProfile? Profile => _srtp.Profile;

    /// <summary>
    /// The path media is sent on: the highest-priority one the browser nominated (see <see cref="IceCandidatePairs{TPath}"/>),
    /// or null before the first valid check.
    /// </summary>
    public PacketPath? SelectedPath => _selected;

    public void SetListener(IWebRtcTransportListener listener) => _listener = listener;

    /// <summary>The browser's ICE ufrag as <see cref="SetRemote"/> gave it (null before): a new offer with the same ufrag is no ICE restart (RFC 8839 §4.4.1.1.1).</summary>
    public string? RemoteIceUfrag => _ice.RemoteUfrag;

    /// <summary>The browser's ICE ufrag and DTLS fingerprint from its SDP. Must be called before it connects.</summary>
    public void SetRemote(string iceUfrag, DtlsFingerprint fingerprint)
    {
        _ice.RemoteUfrag = iceUfrag;
        byte[][] early;
        PacketPath? path;
        lock (_paths)
        {
            _remoteFingerprint = fingerprint;
            early = [.. _earlyDtls];
            _earlyDtls.Clear();
            path = _selected;
        }

        // The browser answered our subscribe offer and started DTLS before its answer reached us: replay its flight.
        foreach (var datagram in early)
        {
            if (path is not null)
            {
                HandleDtls(path, datagram);
            }
        }
    }

    /// <summary>
    /// Every packet of this transport's bound paths, and the first ICE check of a new path whose USERNAME names its
    /// ufrag; called on a socket's receive thread, so it must not block.
    /// </summary>
    public void OnPacket(PacketPath path, Span<byte> packet, PacketClass packetClass)
    {
        if (State == WebRtcTransportState.Closed)
        {
            return;
        }

        switch (packetClass)
        {
            case PacketClass.Stun:
                HandleStun(path, packet);
                break;
            case PacketClass.Dtls:
                HandleDtls(path, packet);
                break;
            case PacketClass.Rtp:
            case PacketClass.Rtcp:
                HandleSrtp(packet, packetClass == PacketClass.Rtcp);
                break;
            default:
                RelayMetrics.DroppedMalformed.Inc();
                break;
        }
    }

    /// <summary>A bound path went away (TCP connection closed).</summary>
    public void OnPathClosed(PacketPath path)
    {
        lock (_paths)
        {
            _paths.Remove(path);
            if (ReferenceEquals(_selected, path))
            {
                _selected = _paths.Selected;
            }
        }
    }

    /// <summary>
    /// ICE restart (RFC 8445 §9) from a new offer and answer: returns our new credentials for the SDP. Checks with the
    /// old ones keep working, and media stays on the selected path, until the browser's first check with the new ones;
    /// from then on paths are nominated and chosen afresh.
    /// </summary>
    public IceCredentials RestartIce(string remoteUfrag)
    {
        var next = IceCredentials.Create();
        while (!_directory.RegisterUfrag(next.UfragBytes, this))
        {
            next = IceCredentials.Create();
        }

        lock (_stunResponse)
        {
            // Dispose sets the state before it takes this lock to unregister our ufrags: one of us unregisters these.
            if (State == WebRtcTransportState.Closed)
            {
                _directory.UnregisterUfrag(next.UfragBytes, this);
                throw new ObjectDisposedException(nameof(WebRtcTransport));
            }

            // The agent keeps one set of old credentials: the ones before them can no longer authenticate.
            if (_retiredUfrag is not null)
            {
                _directory.UnregisterUfrag(_retiredUfrag, this);
            }

            _retiredUfrag = _ice.Local.UfragBytes;
            _ice.Restart(next, remoteUfrag);
        }

        return next;
    }

    /// <summary>
    /// Encrypts an RTP packet in place and sends it. <paramref name="buffer"/> must have room for the SRTP
    /// tag after <paramref name="length"/> bytes. False when not connected or the send failed.
    /// </summary>
    public bool SendRtp(Span<byte> buffer, int length) => Send(buffer, length, rtcp: false);

    /// <summary>Encrypts an RTCP datagram in place (room for tag and index needed) and sends it.</summary>
    public bool SendRtcp(Span<byte> buffer, int length) => Send(buffer, length, rtcp: true);

    /// <summary>
    /// Closes the transport if no valid STUN check came for <paramref name="timeout"/> (RFC 7675 consent). While it
    /// stays open, media leaves a selected path that lost consent for another nominated path that kept it.
    /// </summary>
    public bool CloseIfConsentExpired(TimeSpan timeout)
    {
        var last = LastConsentTimestamp == 0 ? CreatedTimestamp : LastConsentTimestamp;
        if (_time.GetElapsedTime(last) < timeout)
        {
            lock (_paths)
            {
                if (State != WebRtcTransportState.Closed && _paths.ReselectIfConsentLapsed(_time.GetTimestamp()))
                {
                    _selected = _paths.Selected;
                }
            }

            return false;
        }

        Dispose();
        return true;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _state, (int)WebRtcTransportState.Closed) == (int)WebRtcTransportState.Closed)
        {
            return;
        }

        RelayMetrics.Peers.Dec();
        lock (_stunResponse)
        {
            _directory.UnregisterUfrag(_ice.Local.UfragBytes, this);
            if (_retiredUfrag is not null)
            {
                _directory.UnregisterUfrag(_retiredUfrag, this);
            }
        }

        lock (_paths)
        {
            for (var i = 0; i < _paths.Count; i++)
            {
                var path = _paths[i];
                _directory.Unbind(path.Key, this);

                // An ICE-TCP connection serves this transport's candidate pair only (RFC 6544 §5): close it, or
                // its socket and read loop would live on until the browser gives up.
                (path as TcpConnection)?.Dispose();
            }

            _paths.Clear();
        }

        // The selected path stays set so the DTLS thread can still send close_notify; media sends check the state.
        _dtls?.Close();
        ReturnHandshakeSlot();
        _srtp.Dispose();
        _listener?.OnClosed(this);
    }

    private void HandleStun(PacketPath path, Span<byte> packet)
    {
        int length;
        IceCheckOutcome outcome;
        uint priority;
        int restarts;
        long now;
        lock (_stunResponse)
        {
            now = _time.GetTimestamp();
            outcome = _ice.HandleStun(packet, path.Key, now, _stunResponse, out length, out priority);
            restarts = _ice.RestartsTakenUp;
            if (length > 0)
            {
                Count(path.Send(_stunResponse.AsSpan(0, length)), length);
            }
        }

        if (outcome is IceCheckOutcome.Rejected)
        {
            RelayMetrics.DroppedStunRejected.Inc();
            return;
        }

        if (outcome is not (IceCheckOutcome.Accepted or IceCheckOutcome.Nominated))
        {
            return;
        }

        lock (_paths)
        {
            // A check handled while Dispose ran must not bind its path after Dispose unbound them all: Dispose sets
            // the state before it takes this lock, so checking it here closes the race.
            if (State == WebRtcTransportState.Closed)
            {
                return;
            }

            if (_paths.OnValidCheck(path, priority, outcome == IceCheckOutcome.Nominated, restarts, now))
            {
                _directory.Bind(path, this);
            }

            // RFC 8445 §8.1.1: of the pairs the browser nominated, the highest-priority one (IceCandidatePairs).
            _selected = _paths.Selected;
        }

        Interlocked.CompareExchange(ref _state, (int)WebRtcTransportState.Connecting, (int)WebRtcTransportState.New);
    }

    private void HandleDtls(PacketPath path, Span<byte> packet)
    {
        if (_remoteFingerprint is null)
        {
            lock (_paths)
            {
                if (_remoteFingerprint is null)
                {
                    if (_earlyDtls.Count < MaxEarlyPackets)
                    {
                        _selected ??= path;
                        _earlyDtls.Add(packet.ToArray());
                    }
                    else
                    {
                        RelayMetrics.DroppedNoKeys.Inc();
                    }

                    return;
                }
            }
        }

        if (_dtls is null)
        {
            lock (_paths)
            {
                if (_dtls is null)
                {
                    if (_handshakeSlots is not null)
                    {
                        if (!_handshakeSlots.TryTake())
                        {
                            // Too many handshakes at once: drop this ClientHello; the browser sends it again (RFC 6347 §4.2.4).
                            RelayMetrics.LimitDtlsHandshakes.Inc();
                            return;
                        }

                        _holdsHandshakeSlot = 1;
                    }

                    _selected ??= path;
                    _dtlsStarted = Stopwatch.GetTimestamp();
                    var session = new DtlsSession(_certificate, _remoteFingerprint, SendDtls, _dtlsOptions);
                    session.Handshake.ContinueWith(OnHandshake, TaskScheduler.Default);
                    session.Closed.ContinueWith(_ => Dispose(), TaskScheduler.Default);
                    session.Start();
                    _dtls = session;
                }
            }
        }

        _dtls.Enqueue(packet);
    }

    private void SendDtls(ReadOnlySpan<byte> datagram)
    {
        var path = _selected;
        if (path is not null)
        {
            Count(path.Send(datagram), datagram.Length);
        }
    }

    private void ReturnHandshakeSlot()
    {
        if (Interlocked.Exchange(ref _holdsHandshakeSlot, 0) == 1)
        {
            _handshakeSlots!.Return();
        }
    }

    private void OnHandshake(Task<DtlsSrtpKeys> handshake)
    {
        ReturnHandshakeSlot();
        if (!handshake.IsCompletedSuccessfully)
        {
            RelayMetrics.DtlsHandshakes.WithLabels("failed").Inc();
            Dispose();
            return;
        }

        RelayMetrics.DtlsHandshakes.WithLabels("ok").Inc();
        RelayMetrics.DtlsHandshakeSeconds.Observe(Stopwatch.GetElapsedTime(_dtlsStarted).TotalSeconds);
        if (!_srtp.TryInstall(handshake.Result, out var early))
        {
            return; // closed while the handshake finished
        }

        if (Interlocked.CompareExchange(ref _state, (int)WebRtcTransportState.Connected, (int)WebRtcTransportState.Connecting) != (int)WebRtcTransportState.Connecting
            && State != WebRtcTransportState.Connected)
        {
            Interlocked.CompareExchange(ref _state, (int)WebRtcTransportState.Connected, (int)WebRtcTransportState.New);
        }

        _listener?.OnConnected(this);
        foreach (var packet in early)
        {
            HandleSrtp(packet, Demultiplexer.Classify(packet) == PacketClass.Rtcp);
        }
    }

    /// <summary>Counts a refused SRTP/SRTCP packet by why, here and in the relay's metrics.</summary>
    private void CountSrtpRefusal(SrtpUnprotectResult result)
    {
        switch (result)
        {
            case SrtpUnprotectResult.Replayed:
                Interlocked.Increment(ref _srtpReplays);
                RelayMetrics.DroppedSrtpReplay.Inc();
                break;
            case SrtpUnprotectResult.OutOfWindow:
                Interlocked.Increment(ref _srtpOutOfWindow);
                RelayMetrics.DroppedSrtpOutOfWindow.Inc();
                break;
            default:
                Interlocked.Increment(ref _srtpAuthFailures);
                RelayMetrics.DroppedSrtpFailed.Inc();
                break;
        }
    }

    private void HandleSrtp(Span<byte> packet, bool rtcp)
    {
        var hold = _dtls is not null && State != WebRtcTransportState.Closed;
        switch (_srtp.Unprotect(packet, rtcp, hold, out var length, out var refusal))
        {
            case SrtpReceipt.Held:
                return;
            case SrtpReceipt.NoKeys:
                RelayMetrics.DroppedNoKeys.Inc();
                return;
            case SrtpReceipt.Rejected:
                CountSrtpRefusal(refusal);
                return;
        }

        var listener = _listener;
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

    private bool Send(Span<byte> buffer, int length, bool rtcp)
    {
        var path = _selected;
        if (path is null || State == WebRtcTransportState.Closed)
        {
            return false;
        }

        return _srtp.ProtectAndSend(buffer, length, rtcp, path, static (p, packet) =>
        {
            var sent = p.Send(packet);
            Count(sent, packet.Length);
            return sent;
        });
    }

    /// <summary>Counts a packet sent; one not sent was counted by its path, with the reason.</summary>
    private static void Count(bool sent, int length)
    {
        if (sent)
        {
            RelayMetrics.PacketsSent.Inc();
            RelayMetrics.BytesSent.Inc(length);
        }
    }

    /// <summary>Bytes an SRTP/SRTCP packet can grow by: the largest tag plus the SRTCP index.</summary>
    public const int MaxProtectionOverhead = SrtpChannel.MaxProtectionOverhead;

    internal static byte[] RentPacketBuffer() => ArrayPool<byte>.Shared.Rent(1500 + MaxProtectionOverhead);
}
