using System.Diagnostics;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.LoadTests;

/// <summary>
/// Sends every participant's media in real time from a few threads (not one per participant): each thread owns a
/// share of the participants, sends what is due, then sleeps until the earliest next packet (at least 0.5 ms, at most 5 ms).
/// What participants on shared ports (<see cref="ClientUdpPort"/>) send in one wake-up goes out together, one
/// <c>sendmmsg(2)</c> a port, at the end of it (<see cref="ClientSendBatch"/>).
/// </summary>
internal sealed class Pacer : IDisposable
{
    private const int MinSleepMicroseconds = 500;
    private const int MaxSleepMicroseconds = 5000;

    private readonly Worker[] _workers;
    private int _next;

    public Pacer(int threads)
    {
        _workers = Enumerable.Range(0, Math.Max(1, threads)).Select(i => new Worker(i)).ToArray();
    }

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
        private MediaParticipant[] _participants = [];
        private volatile bool _stopped;

        public Worker(int index)
        {
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

                var wait = next - Stopwatch.GetTimestamp();
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
