using System.Diagnostics;

namespace Teletherapy.LoadTests;

/// <summary>
/// Sends every participant's media in real time from a few threads (not one per participant): each thread owns a
/// share of the participants, sends what is due, then sleeps until the earliest next packet (at most 5 ms).
/// </summary>
internal sealed class Pacer : IDisposable
{
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

        public void Stop()
        {
            _stopped = true;
            _thread.Join(TimeSpan.FromSeconds(2));
        }

        private void Run()
        {
            var maxSleep = Stopwatch.Frequency / 200;
            while (!_stopped)
            {
                var now = Stopwatch.GetTimestamp();
                var next = now + maxSleep;
                foreach (var participant in Volatile.Read(ref _participants))
                {
                    try
                    {
                        next = Math.Min(next, participant.Pump(now));
                    }
                    catch (Exception)
                    {
                        // A participant whose transport closed under it stops sending; the others go on.
                        participant.StopSending();
                    }
                }

                var wait = next - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    Thread.Sleep(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond / 2, wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
                }
            }
        }
    }
}
