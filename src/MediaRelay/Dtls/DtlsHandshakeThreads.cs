namespace Teletherapy.MediaRelay.Dtls;

/// <summary>
/// The threads BouncyCastle's blocking handshakes run on. A handshake waits on the network between flights, so it
/// cannot borrow a thread-pool thread (hundreds of simultaneous joins would starve the pool) and must not hold the
/// socket's receive thread. A thread is made when a handshake finds none idle, runs handshakes one after another, and
/// ends after <see cref="IdleTimeout"/> without work; so the number alive follows how many handshakes run at once (the
/// relay caps that, <see cref="MediaOptions.MaxPendingDtlsHandshakes"/>), never how many sessions exist. After its
/// handshake a session keeps no thread: <see cref="DtlsSession"/> reads the few later records on the thread pool.
/// </summary>
internal sealed class DtlsHandshakeThreads
{
    private const int StackSize = 512 * 1024;

    private readonly object _gate = new(); // Monitor.Wait/Pulse need a monitor, not a Lock
    private readonly Queue<Action> _jobs = new();
    private readonly int _maxThreads;
    private int _threads;
    private int _idle;
    private int _busy;

    /// <param name="idleTimeout">How long a thread with no handshake to run waits for one before it ends.</param>
    /// <param name="maxThreads">Handshakes beyond this many at once wait in order for a thread.</param>
    public DtlsHandshakeThreads(TimeSpan idleTimeout, int maxThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(idleTimeout, TimeSpan.Zero);
        IdleTimeout = idleTimeout;
        _maxThreads = maxThreads;
    }

    /// <summary>The process's threads: up to 256 at once, each ending after 10 s idle.</summary>
    public static DtlsHandshakeThreads Shared { get; } = new(TimeSpan.FromSeconds(10), 256);

    public TimeSpan IdleTimeout { get; }

    /// <summary>Threads alive, idle or not.</summary>
    public int Threads
    {
        get
        {
            lock (_gate)
            {
                return _threads;
            }
        }
    }

    /// <summary>Threads running a handshake now.</summary>
    public int Busy => Volatile.Read(ref _busy);

    /// <summary>Runs <paramref name="handshake"/> on one of the threads; it must not throw.</summary>
    public void Run(Action handshake)
    {
        ArgumentNullException.ThrowIfNull(handshake);
        lock (_gate)
        {
            _jobs.Enqueue(handshake);
            if (_jobs.Count <= _idle || _threads >= _maxThreads)
            {
                // An idle thread takes it (Pulse wakes one), or the next thread to finish does.
                Monitor.Pulse(_gate);
                return;
            }

            _threads++;
        }

        new Thread(Work, StackSize) { IsBackground = true, Name = "dtls-handshake" }.Start();
    }

    private void Work()
    {
        while (true)
        {
            Action job;
            lock (_gate)
            {
                while (_jobs.Count == 0)
                {
                    _idle++;
                    Monitor.Wait(_gate, IdleTimeout);
                    _idle--;
                    if (_jobs.Count == 0)
                    {
                        _threads--;
                        return;
                    }
                }

                job = _jobs.Dequeue();
            }

            Interlocked.Increment(ref _busy);
            try
            {
                job();
            }
            finally
            {
                Interlocked.Decrement(ref _busy);
            }
        }
    }
}
