using System.Diagnostics;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// A token bucket of bytes for one subscription's repairs (retransmissions): it fills at the rate given with each
/// spend and holds half a second of it, so a keyframe's worth of repairs goes out at once while a steady flood of NACKs
/// is answered only at that rate. Not thread-safe: used under the consumer's lock.
/// </summary>
internal sealed class RepairBudget
{
    /// <summary>How much of the rate the bucket holds: half a second.</summary>
    private const double DepthSeconds = 0.5;

    private double _bytes = -1;
    private long _filledAt;

    /// <summary>Takes <paramref name="length"/> bytes if the bucket (filling at <paramref name="bitsPerSecond"/>) holds them.</summary>
    public bool TrySpend(int length, long bitsPerSecond, long now)
    {
        var bytesPerSecond = bitsPerSecond / 8.0;
        var depth = bytesPerSecond * DepthSeconds;
        if (_bytes < 0)
        {
            _bytes = depth; // starts full
        }
        else
        {
            _bytes = Math.Min(depth, _bytes + (bytesPerSecond * (now - _filledAt) / Stopwatch.Frequency));
        }

        _filledAt = now;
        if (_bytes < length)
        {
            return false;
        }

        _bytes -= length;
        return true;
    }
}
