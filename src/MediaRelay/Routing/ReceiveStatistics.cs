using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// What the relay, as the receiver of one publisher stream (one SSRC), knows about it: the RFC 3550 Appendix A
/// reception statistics behind a Receiver Report block (A.1 sequence validation, A.3 loss, A.8 jitter, the LSR/DLSR
/// of §6.4.1), and the sequence numbers still missing, for Generic NACKs (RFC 4585 §6.2.1) to the publisher.
/// Updated on the transport's receive thread, read by housekeeping: one lock, no allocation after construction.
/// </summary>
internal sealed class ReceiveStatistics
{
    /// <summary>A forward jump larger than this is a restart of the sender's numbering, not loss (RFC 3550 A.1 MAX_DROPOUT, scaled to video rates).</summary>
    private const int MaxDropout = 3000;

    /// <summary>
    /// Further behind than this is not a late packet but a sender that restarted lower (RFC 3550 A.1 MAX_MISORDER, raised
    /// from 100 because repairs arrive up to a second late: 200 packets at 2 Mbit/s).
    /// </summary>
    private const int MaxMisorder = 1000;

    /// <summary>Gaps wider than this are not NACKed: the burst is too large to repair in time; a keyframe is cheaper.</summary>
    private const int MaxNackGap = 256;

    /// <summary>How many missing packets are tracked at once.</summary>
    private const int MaxMissing = 256;

    /// <summary>NACK attempts per packet before giving up (libwebrtc's receiver gives up after 10).</summary>
    private const int MaxNackRetries = 10;

    private static readonly long MaxMissingAge = Stopwatch.Frequency; // 1 s: a frame older than that is no longer useful

    private readonly Lock _lock = new();
    private readonly int _clockRate;
    private readonly ushort[] _missingSequence = new ushort[MaxMissing];
    private readonly long[] _missingSince = new long[MaxMissing];
    private readonly long[] _missingLastNack = new long[MaxMissing];
    private readonly long[] _missingPreviousNack = new long[MaxMissing];
    private readonly byte[] _missingRetries = new byte[MaxMissing];
    private int _missingCount;
    private bool _started;
    private ushort _maxSequence;
    private int _badSequence = -1;
    private uint _cycles;
    private uint _baseSequence;
    private long _received;
    private long _expectedPrior;
    private long _receivedPrior;
    private double _jitter;
    private long _lastTransit;
    private bool _haveTransit;
    private uint _lastSenderReport;
    private long _lastSenderReportArrival;
    private long _nackRoundTrip = Stopwatch.Frequency / 10; // 100 ms until a repair tells us better

    public ReceiveStatistics(uint ssrc, int clockRate)
    {
        Ssrc = ssrc;
        _clockRate = clockRate;
    }

    public uint Ssrc { get; }

    /// <summary>What an arriving packet was to the stream.</summary>
    public enum Arrival
    {
        InOrder,
        GapOpened,
        FilledGap,
        Old,
    }

    public long PacketsReceived => Volatile.Read(ref _received);

    /// <summary>Time from our NACK to the repair arriving, smoothed: how long to wait before asking again.</summary>
    public TimeSpan NackRoundTrip => TimeSpan.FromSeconds((double)Volatile.Read(ref _nackRoundTrip) / Stopwatch.Frequency);

    /// <summary>
    /// Hot path: one packet of this SSRC arrived (a repair too: it fills its gap). Returns true when it opened a
    /// new gap, so the caller can send a NACK at once rather than on the next timer.
    /// </summary>
    public bool OnPacket(ushort sequence, uint rtpTimestamp, long arrival, bool trackLoss) =>
        Classify(sequence, rtpTimestamp, arrival, trackLoss) == Arrival.GapOpened;

    /// <summary>
    /// Hot path: like <see cref="OnPacket"/>, telling what the packet was. A repair that fills no gap (Chrome also sends
    /// old packets on its RTX SSRC as bandwidth probes, RFC 4588 §4 payloads as padding) is <see cref="Arrival.Old"/>.
    /// </summary>
    public Arrival Classify(ushort sequence, uint rtpTimestamp, long arrival, bool trackLoss)
    {
        lock (_lock)
        {
            _received++;
            if (!_started)
            {
                _started = true;
                _maxSequence = sequence;
                _baseSequence = sequence;
                UpdateJitter(rtpTimestamp, arrival);
                return Arrival.InOrder;
            }

            var delta = (ushort)(sequence - _maxSequence);
            if (delta == 0)
            {
                _received--;
                return Arrival.Old; // a duplicate
            }

            if (delta < 0x8000)
            {
                if (delta > MaxDropout)
                {
                    // RFC 3550 A.1: a big jump is the sender restarting its numbering; start the statistics over.
                    Restart(sequence);
                    return Arrival.InOrder;
                }

                if (sequence < _maxSequence)
                {
                    _cycles += 0x10000;
                }

                var opened = false;
                if (trackLoss && delta > 1 && delta <= MaxNackGap)
                {
                    for (var missing = (ushort)(_maxSequence + 1); missing != sequence; missing++)
                    {
                        opened |= AddMissing(missing, arrival);
                    }
                }

                _maxSequence = sequence;
                UpdateJitter(rtpTimestamp, arrival);
                return opened ? Arrival.GapOpened : Arrival.InOrder;
            }

            if ((ushort)(_maxSequence - sequence) > MaxMisorder)
            {
                // Far behind: RFC 3550 A.1's "bad_seq". Two in a row mean the sender restarted its numbering lower.
                if (sequence == _badSequence)
                {
                    Restart(sequence);
                    return Arrival.InOrder;
                }

                _badSequence = (ushort)(sequence + 1);
                _received--;
                return Arrival.Old;
            }

            // Older than the highest: a reordered packet or a repair of a gap, or one we had already.
            if (RemoveMissing(sequence, arrival) || !trackLoss)
            {
                return Arrival.FilledGap;
            }

            _received--;
            return Arrival.Old;
        }
    }

    /// <summary>
    /// Writes the sequence numbers due for a NACK now (never asked, or asked longer ago than the repair round trip),
    /// counting the attempt; drops those too old or asked too often. Returns how many were written.
    /// </summary>
    public int CollectNacks(Span<ushort> destination, long now)
    {
        lock (_lock)
        {
            // A quarter over the repair round trip: sooner and the browser ignores it (libwebrtc resends a packet at most
            // once per its RTT estimate, which is a little longer than ours); later and a lost repair freezes the frame.
            var retry = _nackRoundTrip + (_nackRoundTrip / 4) + (Stopwatch.Frequency / 200);
            var written = 0;
            var i = 0;
            while (i < _missingCount)
            {
                if (now - _missingSince[i] > MaxMissingAge || _missingRetries[i] >= MaxNackRetries)
                {
                    RemoveAt(i);
                    continue;
                }

                if (written < destination.Length && (_missingLastNack[i] == 0 || now - _missingLastNack[i] >= retry))
                {
                    destination[written++] = _missingSequence[i];
                    _missingPreviousNack[i] = _missingLastNack[i];
                    _missingLastNack[i] = now;
                    _missingRetries[i]++;
                }

                i++;
            }

            return written;
        }
    }

    public int MissingCount
    {
        get
        {
            lock (_lock)
            {
                return _missingCount;
            }
        }
    }

    /// <summary>RFC 3550 §6.4.1: remember the middle of the SR's NTP timestamp and when it came, for LSR and DLSR.</summary>
    public void OnSenderReport(ulong ntpTimestamp, long arrival)
    {
        lock (_lock)
        {
            _lastSenderReport = NtpTime.Middle(ntpTimestamp);
            _lastSenderReportArrival = arrival;
        }
    }

    /// <summary>The report block for an RR (RFC 3550 §6.4.1, A.3); false before the first packet.</summary>
    public bool TryGetReportBlock(long now, out ReportBlock block)
    {
        lock (_lock)
        {
            if (!_started)
            {
                block = default;
                return false;
            }

            var extendedMax = _cycles + _maxSequence;
            var expected = (long)extendedMax - _baseSequence + 1;
            var lost = expected - _received;
            var expectedInterval = expected - _expectedPrior;
            var receivedInterval = _received - _receivedPrior;
            _expectedPrior = expected;
            _receivedPrior = _received;
            var lostInterval = expectedInterval - receivedInterval;
            var fraction = expectedInterval == 0 || lostInterval <= 0 ? (byte)0 : (byte)Math.Min(255, (lostInterval << 8) / expectedInterval);
            uint dlsr = 0;
            if (_lastSenderReportArrival != 0)
            {
                // DLSR in units of 1/65536 s.
                dlsr = (uint)((now - _lastSenderReportArrival) * 65536.0 / Stopwatch.Frequency);
            }

            block = new ReportBlock(Ssrc, fraction, (int)Math.Clamp(lost, -0x800000, 0x7FFFFF), (uint)extendedMax, (uint)_jitter, _lastSenderReport, dlsr);
            return true;
        }
    }

    private void Restart(ushort sequence)
    {
        _baseSequence = sequence;
        _cycles = 0;
        _received = 1;
        _expectedPrior = 0;
        _receivedPrior = 0;
        _maxSequence = sequence;
        _missingCount = 0;
    }

    /// <summary>RFC 3550 A.8: interarrival jitter in timestamp units, smoothed with gain 1/16.</summary>
    private void UpdateJitter(uint rtpTimestamp, long arrival)
    {
        var arrivalRtp = (long)(arrival * (double)_clockRate / Stopwatch.Frequency);
        var transit = arrivalRtp - rtpTimestamp;
        if (_haveTransit)
        {
            var d = Math.Abs((int)(transit - _lastTransit));
            _jitter += (d - _jitter) / 16.0;
        }

        _lastTransit = transit;
        _haveTransit = true;
    }

    private bool AddMissing(ushort sequence, long now)
    {
        if (_missingCount == MaxMissing)
        {
            RemoveAt(0); // the oldest: least likely to be repaired in time
        }

        _missingSequence[_missingCount] = sequence;
        _missingSince[_missingCount] = now;
        _missingLastNack[_missingCount] = 0;
        _missingPreviousNack[_missingCount] = 0;
        _missingRetries[_missingCount] = 0;
        _missingCount++;
        return true;
    }

    private bool RemoveMissing(ushort sequence, long now)
    {
        for (var i = 0; i < _missingCount; i++)
        {
            if (_missingSequence[i] == sequence)
            {
                if (RepairRoundTripSample(i, now) is { } sample)
                {
                    // The repair's round trip, smoothed (1/8 like RFC 6298 SRTT), bounded to 10 ms .. 1 s.
                    _nackRoundTrip += (Math.Clamp(sample, Stopwatch.Frequency / 100, Stopwatch.Frequency) - _nackRoundTrip) / 8;
                }

                RemoveAt(i);
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The round trip a repair of missing entry <paramref name="index"/> measures, or null when it cannot tell. A packet
    /// asked for once is unambiguous. One asked for again may be answering either request (Karn's problem, RFC 6298 §5):
    /// timing it from the last request, as if it answered that, makes a round trip longer than the retry interval read
    /// short, the retry come sooner, and more repairs read short; the estimate collapses. So a repair after a retry
    /// counts only when it came too soon to answer the retry (under half the estimate): it answered the request before,
    /// and is timed from that, which lets the estimate grow when the path slows. Otherwise it is left out.
    /// </summary>
    private long? RepairRoundTripSample(int index, long now)
    {
        var last = _missingLastNack[index];
        if (last == 0)
        {
            return null;
        }

        if (_missingRetries[index] <= 1)
        {
            return now - last;
        }

        var previous = _missingPreviousNack[index];
        return now - last < _nackRoundTrip / 2 && previous != 0 ? now - previous : null;
    }

    private void RemoveAt(int index)
    {
        var tail = _missingCount - index - 1;
        if (tail > 0)
        {
            Array.Copy(_missingSequence, index + 1, _missingSequence, index, tail);
            Array.Copy(_missingSince, index + 1, _missingSince, index, tail);
            Array.Copy(_missingLastNack, index + 1, _missingLastNack, index, tail);
            Array.Copy(_missingPreviousNack, index + 1, _missingPreviousNack, index, tail);
            Array.Copy(_missingRetries, index + 1, _missingRetries, index, tail);
        }

        _missingCount--;
    }
}
