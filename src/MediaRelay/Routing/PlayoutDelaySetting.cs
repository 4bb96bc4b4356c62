using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The playout delay one consumer asks its subscriber's browser for (<see cref="PlayoutDelayPolicy"/>), and the
/// <c>playout-delay</c> header extension value that carries it. Once raised the value is written into every video packet,
/// and for <see cref="Linger"/> after the delay drops back to zero, so the browser hears that too. Updated by housekeeping
/// (one thread); read on the receive threads without a lock.
/// </summary>
internal sealed class PlayoutDelaySetting
{
    /// <summary>How long the element is still written after the delay last was above zero.</summary>
    public static readonly long Linger = 10 * Stopwatch.Frequency;

    private int _milliseconds;
    private long _writeUntil;
    private int _element = -1;

    /// <summary>The minimum playout delay asked for now (zero on clean links).</summary>
    public TimeSpan Delay => TimeSpan.FromMilliseconds(Volatile.Read(ref _milliseconds));

    /// <summary>Times the delay was raised from zero (this consumer's own count, beside the relay-wide metric).</summary>
    public int Raised { get; private set; }

    /// <summary>The element's 3-byte value packed into an int (first byte highest), or −1 when none is to be written.</summary>
    public int Element => Volatile.Read(ref _element);

    /// <summary>Asks for <paramref name="delay"/> from <paramref name="now"/> (<see cref="RoutingClock"/>) on.</summary>
    public void Update(TimeSpan delay, long now)
    {
        var milliseconds = (int)Math.Ceiling(delay.TotalMilliseconds);
        if (milliseconds > 0)
        {
            _writeUntil = now + Linger;
            if (Volatile.Read(ref _milliseconds) == 0)
            {
                RelayMetrics.PlayoutDelayRaised.Inc();
                Raised++;
            }
        }

        Volatile.Write(ref _milliseconds, milliseconds);
        var element = -1;
        if (milliseconds > 0 || now < _writeUntil)
        {
            Span<byte> value = stackalloc byte[3];
            PlayoutDelayPolicy.Write(value, delay, PlayoutDelayPolicy.Upper);
            element = (value[0] << 16) | (value[1] << 8) | value[2];
        }

        Volatile.Write(ref _element, element);
    }
}
