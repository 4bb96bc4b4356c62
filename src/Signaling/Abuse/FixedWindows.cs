using System.Runtime.InteropServices;

namespace Teletherapy.Signaling.Abuse;

/// <summary>
/// A fixed window per client, counted when a request comes: a client's window opens with its first request and grants
/// up to the limit until it ends. Nothing runs in between: ASP.NET Core's partitioned limiters each replenish on a
/// timer ten times a second, waking the timer thread and a pool thread for every limit, idle or not. Ended windows are
/// dropped when the table has doubled since the last sweep, so a flood of addresses costs memory for one window at most.
/// </summary>
internal sealed class FixedWindows
{
    private const int FirstSweep = 1024;

    private readonly TimeProvider _time;
    private readonly long _length;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private int _sweepAt = FirstSweep;

    public FixedWindows(TimeProvider time, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _time = time;
        _length = (long)(window.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>Clients with a window in the table (ended ones included until the next sweep).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _windows.Count;
            }
        }
    }

    /// <summary>
    /// Takes one of <paramref name="limit"/> permits from <paramref name="client"/>'s window; when none is left, says
    /// how long until the window ends.
    /// </summary>
    public bool TryTake(string client, int limit, out TimeSpan retryAfter)
    {
        ArgumentNullException.ThrowIfNull(client);
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_windows.Count >= _sweepAt)
            {
                Sweep(now);
            }

            ref var window = ref CollectionsMarshal.GetValueRefOrAddDefault(_windows, client, out var known);
            if (!known || now - window.Start >= _length)
            {
                window = new Window(now, 0);
            }

            if (window.Taken < limit)
            {
                window.Taken++;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = _time.GetElapsedTime(now, window.Start + _length);
            return false;
        }
    }

    private void Sweep(long now)
    {
        foreach (var (client, window) in _windows)
        {
            if (now - window.Start >= _length)
            {
                _windows.Remove(client);
            }
        }

        _sweepAt = Math.Max(FirstSweep, 2 * _windows.Count);
    }

    private struct Window(long start, int taken)
    {
        public long Start = start;
        public int Taken = taken;
    }
}
