using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// One DTLS-SRTP association of a transport. BouncyCastle's handshake blocks between flights, so it runs on one of
/// <see cref="DtlsHandshakeThreads"/> (never a thread-pool thread, which hundreds of simultaneous joins would starve,
/// and never the socket receive thread). After the handshake the session holds no thread: the rare later records (a
/// peer that lost our last flight retransmits its own, RFC 6347 §4.2.4, and we answer with ours; close_notify) are
/// read on the thread pool when they arrive, one reader at a time.
/// </summary>
/// <remarks>
/// Typical use: create, <see cref="Start"/>, feed every DTLS datagram from the demux to <see cref="Enqueue"/>,
/// await <see cref="Handshake"/>, then <see cref="DtlsSrtpKeys.CreateContexts"/>. <see cref="Closed"/>
/// completes when the peer closes, the handshake fails, or <see cref="Close"/> was called.
/// </remarks>
internal sealed class DtlsSession : IDisposable
{
    /// <summary>
    /// How long a read after the handshake waits for more records once the queue is empty (BouncyCastle reads 0 as
    /// "forever", so the least it can be); the reader is on the thread pool only while records are there.
    /// </summary>
    private const int AfterHandshakeReadMillis = 1;

    private readonly DtlsDatagramQueue _transport;
    private readonly IDtlsEndpoint _endpoint;
    private readonly TaskCompletionSource<DtlsSrtpKeys> _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DtlsHandshakeThreads _threads;
    private readonly Lock _readLock = new();
    private DtlsTransport? _dtls;
    private byte[]? _readBuffer;
    private int _started;
    private int _readScheduled;
    private volatile bool _closeRequested;

    /// <summary>Prepares the SFU's end (ICE-lite answers <c>a=setup:passive</c>); nothing happens before <see cref="Start"/>.</summary>
    /// <param name="localCertificate">Our certificate; its fingerprint is in our SDP.</param>
    /// <param name="remoteFingerprint">The peer's <c>a=fingerprint</c>; the handshake fails with bad_certificate otherwise.</param>
    /// <param name="send">Sends one datagram to the peer; called on the session's thread.</param>
    /// <param name="options">Profiles, timeout, MTU; defaults when null.</param>
    public DtlsSession(DtlsCertificate localCertificate, DtlsFingerprint remoteFingerprint, Action<ReadOnlySpan<byte>> send, DtlsOptions? options = null)
        : this(ServerEnd(localCertificate, remoteFingerprint), send, options)
    {
    }

    /// <summary>
    /// Prepares a session for the end <paramref name="endpoint"/> makes from the validated options (the client side
    /// brings the browser's end this way); nothing happens before <see cref="Start"/>.
    /// </summary>
    public DtlsSession(Func<DtlsOptions, IDtlsEndpoint> endpoint, Action<ReadOnlySpan<byte>> send, DtlsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(send);
        options ??= new DtlsOptions();
        options.Validate();
        _transport = new DtlsDatagramQueue(send, options.SendLimit, options.ReceiveQueueCapacity);
        _endpoint = endpoint(options);
        Role = _endpoint.Role;
        _threads = options.Threads ?? DtlsHandshakeThreads.Shared;
    }

    /// <summary>Our role.</summary>
    public DtlsRole Role { get; }

    /// <summary>Completes with the SRTP keys, or faults with <see cref="DtlsHandshakeException"/>.</summary>
    public Task<DtlsSrtpKeys> Handshake => _handshake.Task;

    /// <summary>Completes once the session is over, for whatever reason.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Starts the handshake on a handshake thread. A client sends its ClientHello at once; a server waits for one.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The session has already been started.");
        }

        _threads.Run(Run);
    }

    /// <summary>Hands an incoming DTLS datagram to the session (copied). False when dropped: queue full or session closed.</summary>
    public bool Enqueue(ReadOnlySpan<byte> datagram)
    {
        if (!_transport.Enqueue(datagram))
        {
            return false;
        }

        if (Volatile.Read(ref _dtls) is not null)
        {
            ScheduleRead();
        }

        return true;
    }

    /// <summary>
    /// Ends the session: aborts a running handshake, or sends close_notify after one. Returns at once;
    /// <see cref="Closed"/> completes when the thread is done.
    /// </summary>
    public void Close()
    {
        _closeRequested = true;
        if (Volatile.Read(ref _dtls) is not null)
        {
            // The reader owns the DtlsTransport; it sends close_notify.
            ScheduleRead();
        }
        else
        {
            _transport.Close();
        }

        if (Volatile.Read(ref _started) == 0)
        {
            _handshake.TrySetException(new DtlsHandshakeException("The session was closed before it started."));
            _closed.TrySetResult();
        }
    }

    public void Dispose() => Close();

    private void Run()
    {
        DtlsTransport dtls;
        DtlsSrtpKeys? keys;
        try
        {
            dtls = _endpoint.Handshake(_transport);
            keys = _endpoint.Keys;
        }
        catch (Exception exception)
        {
            Finish(new DtlsHandshakeException("DTLS handshake failed.", exception));
            return;
        }

        if (keys is null)
        {
            Finish(new DtlsHandshakeException("DTLS handshake completed without SRTP keys."));
            return;
        }

        Volatile.Write(ref _dtls, dtls);
        _handshake.TrySetResult(keys);

        // Records (or a Close) that came while the handshake was ending.
        ScheduleRead();
    }

    private void ScheduleRead()
    {
        if (Interlocked.Exchange(ref _readScheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static session => session.ReadQueued(), this, preferLocal: false);
        }
    }

    /// <summary>Reads what is queued after the handshake; ends the session on close_notify, a fatal alert or <see cref="Close"/>.</summary>
    private void ReadQueued()
    {
        lock (_readLock)
        {
            // Cleared first: a datagram queued from here on schedules another read, which waits for this one.
            Volatile.Write(ref _readScheduled, 0);
            if (_closed.Task.IsCompleted)
            {
                return;
            }

            DtlsTransport dtls = _dtls!;
            try
            {
                while (!_closeRequested && !PeerClosed && _transport.Count > 0)
                {
                    // Application data (a data channel) is not used yet and is dropped; reading answers a
                    // retransmitted final flight and notices close_notify. The buffer is made for the first record
                    // that comes: most sessions never get one after the handshake.
                    _readBuffer ??= new byte[dtls.GetReceiveLimit()];
                    dtls.Receive(_readBuffer, 0, _readBuffer.Length, AfterHandshakeReadMillis);
                }

                if (!_closeRequested && !PeerClosed)
                {
                    return;
                }

                if (!PeerClosed)
                {
                    dtls.Close();
                }
            }
            catch (Exception)
            {
                // The transport was closed or a fatal alert arrived: either way the association is over.
            }

            _transport.Close();
            _closed.TrySetResult();
        }
    }

    private bool PeerClosed => _endpoint.PeerClosed;

    private static Func<DtlsOptions, IDtlsEndpoint> ServerEnd(DtlsCertificate localCertificate, DtlsFingerprint remoteFingerprint)
    {
        ArgumentNullException.ThrowIfNull(localCertificate);
        ArgumentNullException.ThrowIfNull(remoteFingerprint);
        return options => new DtlsServer(new BcTlsCrypto(), localCertificate, remoteFingerprint, options);
    }

    private void Finish(DtlsHandshakeException failure)
    {
        _transport.Close();
        _handshake.TrySetException(failure);
        _closed.TrySetResult();
    }
}
