using System.Diagnostics;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.LoadTests;

/// <summary>
/// Sends every participant's media in real time from a few threads (not one per participant): each thread owns a
/// share of the participants, sends what is due, then sleeps until the earliest next packet (at least 0.5 ms, at most 5 ms).
/// What participants on shared ports (<see cref="ClientUdpPort"/>) send in one wake-up goes out together, one
/// <c>sendmmsg(2)</c> a port, at the end of it (<see cref="ClientSendBatch"/>). With a send tick (<c>--send-tick</c>)
/// the threads wake only on the tick's boundaries, the same for all of them, and send everything due since the last.
/// </summary>
internal sealed class Pacer : IDisposable
{
    private const int MinSleepMicroseconds = 500;
    private const int MaxSleepMicroseconds = 5000;

    private readonly Worker[] _workers;
    private int _next;

    /// <param name="threads">Threads sharing the participants.</param>
    /// <param name="tick">Zero: each packet when it is due; else the period of the boundaries everything is sent on.</param>
    public Pacer(int threads, TimeSpan tick = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tick, TimeSpan.Zero);
        var tickTimestamps = (long)(tick.TotalSeconds * Stopwatch.Frequency);
        _workers = Enumerable.Range(0, Math.Max(1, threads)).Select(i => new Worker(i, tickTimestamps)).ToArray();
    }

    /// <summary>
    /// The next boundary of a <paramref name="tick"/> (in <see cref="Stopwatch"/> units) after <paramref name="now"/>:
    /// boundaries are multiples of the tick, so every thread wakes on the same ones and lateness never accumulates.
    /// </summary>
    internal static long NextTick(long now, long tick) => ((now / tick) + 1) * tick;

    public void Add(MediaParticipant participant)
    {
        var worker = _workers[(Interlocked.Increment(ref _next) & int.MaxValue) % _workers.Length];
        worker.Add(participant);
    }

    /// <summary>Stops pacing <paramref name="participant"/> (a session that ended), so ended sessions are not kept.</summary>
    public void Remove(MediaParticipant participant)
    {
        foreach (var worker in _workers)
        {
            worker.Remove(participant);
        }
    }

    public void Dispose()
    {
        foreach (var worker in _workers)
        {
            worker.Stop();
        }
    }

    private sealed class Worker
    {
        private readonly Lock _lock = new();
        private readonly Thread _thread;
        private readonly long _tick;
        private MediaParticipant[] _participants = [];
        private volatile bool _stopped;

        public Worker(int index, long tick)
        {
            _tick = tick;
            _thread = new Thread(Run) { IsBackground = true, Name = "load-pacer-" + index, Priority = ThreadPriority.AboveNormal };
            _thread.Start();
        }

        public void Add(MediaParticipant participant)
        {
            lock (_lock)
            {
                _participants = [.. _participants, participant];
            }
        }

        public void Remove(MediaParticipant participant)
        {
            lock (_lock)
            {
                _participants = [.. _participants.Where(p => p != participant)];
            }
        }

        public void Stop()
        {
            _stopped = true;
            _thread.Join(TimeSpan.FromSeconds(2));
        }

        private void Run()
        {
            using var batch = new ClientSendBatch();
            var maxSleep = Stopwatch.Frequency * MaxSleepMicroseconds / 1_000_000;
            while (!_stopped)
            {
                var now = Stopwatch.GetTimestamp();
                var next = now + maxSleep;
                foreach (var participant in Volatile.Read(ref _participants))
                {
                    try
                    {
                        next = Math.Min(next, participant.Pump(now, batch));
                    }
                    catch (Exception)
                    {
                        // A participant whose transport closed under it stops sending; the others go on.
                        participant.StopSending();
                    }
                }

                batch.Flush();

                var after = Stopwatch.GetTimestamp();
                if (_tick > 0)
                {
                    Sleep((int)Math.Max(1, (NextTick(after, _tick) - after) * 1_000_000 / Stopwatch.Frequency));
                    continue;
                }

                var wait = next - after;
                if (wait > 0)
                {
                    Sleep((int)Math.Clamp(wait * 1_000_000 / Stopwatch.Frequency, MinSleepMicroseconds, MaxSleepMicroseconds));
                }
            }
        }

        /// <summary>
        /// Sleeps, never spins: <see cref="Thread.Sleep(TimeSpan)"/> counts whole milliseconds, and a wait under one
        /// becomes <c>Sleep(0)</c>, which only yields (<c>sched_yield(2)</c>) and returns at once on an idle core: with
        /// packets due every fraction of a millisecond, that loop was most of the tool's CPU. Linux sleeps the
        /// microseconds (<c>usleep(3)</c>); elsewhere the wait is rounded up to whole milliseconds.
        /// </summary>
        private static void Sleep(int microseconds)
        {
            if (LinuxSocketCalls.IsSupported)
            {
                LinuxSocketCalls.SleepMicroseconds(microseconds);
            }
            else
            {
                Thread.Sleep((microseconds + 999) / 1000);
            }
        }
    }
}
