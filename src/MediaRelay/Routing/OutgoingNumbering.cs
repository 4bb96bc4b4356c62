using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// One subscriber's RTP sequence numbers and timestamps for a consumer's stream: the offsets that map the publisher's onto
/// ours, and the newest values sent. Each (re)start maps the stream onto what the subscriber saw last, so layer switches
/// and restarts look like one gap-free stream; the first values are random (RFC 3550 §5.1). Not thread-safe: used under
/// the consumer's lock.
/// </summary>
internal sealed class OutgoingNumbering
{
    private readonly int _clockRate;
    private readonly RoutingClock _clock;
    private ushort _sequenceOffset;
    private ushort _lastSequence;
    private uint _lastTimestamp;
    private long _lastSentTimestamp;

    public OutgoingNumbering(int clockRate, RoutingClock? clock = null)
        : this(clockRate, (ushort)Random.Shared.Next(0, 0x8000), (uint)Random.Shared.Next(), clock)
    {
    }

    /// <summary>Starts as if <paramref name="lastSequence"/> and <paramref name="lastTimestamp"/> had been sent last.</summary>
    public OutgoingNumbering(int clockRate, ushort lastSequence, uint lastTimestamp, RoutingClock? clock = null)
    {
        _clockRate = clockRate;
        _clock = clock ?? RoutingClock.System;
        _lastSequence = lastSequence;
        _lastTimestamp = lastTimestamp;
    }

    /// <summary>What is added to the publisher's timestamps now (a retransmission uses the one its packet was first sent with).</summary>
    public uint TimestampOffset { get; private set; }

    /// <summary>
    /// The stream that starts with <paramref name="header"/> continues with the next sequence number and a timestamp
    /// advanced by the wall-clock time since our last packet (at least 1: never backwards, RFC 3550 §5.1).
    /// </summary>
    public void Resynchronize(in RtpHeader header)
    {
        _sequenceOffset = (ushort)(_lastSequence + 1 - header.SequenceNumber);
        var elapsed = _lastSentTimestamp == 0 ? 0 : _clock.Since(_lastSentTimestamp).TotalSeconds;
        var advance = (uint)Math.Max(1, elapsed * _clockRate);
        TimestampOffset = _lastTimestamp + advance - header.Timestamp;
    }

    /// <summary>When the newest packet was sent (<see cref="RoutingClock"/> ticks; 0 before the first).</summary>
    public long LastSent => _lastSentTimestamp;

    /// <summary>
    /// Our sequence number and timestamp for the publisher's packet. True when it is the newest we sent (not one that
    /// arrived late): it becomes the last sent, which the next <see cref="Resynchronize"/> and Sender Report start from.
    /// </summary>
    public bool Map(in RtpHeader header, out ushort sequence, out uint timestamp)
    {
        sequence = (ushort)(header.SequenceNumber + _sequenceOffset);
        timestamp = header.Timestamp + TimestampOffset;
        if ((short)(sequence - _lastSequence) <= 0)
        {
            return false;
        }

        _lastSequence = sequence;
        _lastTimestamp = timestamp;
        _lastSentTimestamp = _clock.Now;
        return true;
    }

    /// <summary>Our RTP time now: the newest timestamp sent, advanced by the wall-clock time since (for Sender Reports).</summary>
    public uint TimestampNow()
    {
        var elapsed = _clock.Since(_lastSentTimestamp).TotalSeconds;
        return _lastTimestamp + (uint)(elapsed * _clockRate);
    }
}
