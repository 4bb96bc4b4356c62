using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The clock of everything in Routing, read from the relay's <see cref="TimeProvider"/>. Its timestamps are in
/// <see cref="Stopwatch"/> ticks (<see cref="Stopwatch.Frequency"/> a second), the unit of every interval in Routing, and
/// are never 0, which Routing uses for "never". The system clock is read directly (no conversion on the hot path); any
/// other provider (a test's fake) is converted from its own frequency, counted from its reading when this clock was made,
/// plus a day. One instance per relay, so that timestamps taken by its routers, transports and consumers compare.
/// </summary>
internal sealed class RoutingClock
{
    /// <summary>The real clock, for parts made without a relay (tests of a single part).</summary>
    public static readonly RoutingClock System = new(TimeProvider.System);

    private static readonly long Start = 86_400 * Stopwatch.Frequency;

    private readonly bool _isSystem;
    private readonly long _origin;
    private readonly double _toStopwatch;

    public RoutingClock(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Time = time;
        _isSystem = ReferenceEquals(time, TimeProvider.System);
        _origin = time.GetTimestamp();
        _toStopwatch = (double)Stopwatch.Frequency / time.TimestampFrequency;
    }

    /// <summary>The provider read: wall-clock time (<see cref="TimeProvider.GetUtcNow"/>) for reports, and its timers.</summary>
    public TimeProvider Time { get; }

    /// <summary>Now, in <see cref="Stopwatch"/> ticks.</summary>
    public long Now => _isSystem ? Stopwatch.GetTimestamp() : Start + (long)((Time.GetTimestamp() - _origin) * _toStopwatch);

    /// <summary>Wall-clock now (Sender Reports, the round trip from Receiver Reports).</summary>
    public DateTimeOffset UtcNow => Time.GetUtcNow();

    /// <summary>An interval in this clock's unit (<see cref="Stopwatch"/> ticks).</summary>
    public static long TicksOf(TimeSpan interval) => (long)(interval.TotalSeconds * Stopwatch.Frequency);

    /// <summary>The time since <paramref name="timestamp"/> (one of ours).</summary>
    public TimeSpan Since(long timestamp) => TimeSpan.FromSeconds((double)(Now - timestamp) / Stopwatch.Frequency);
}
