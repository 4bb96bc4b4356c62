using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// An outgoing track for one subscriber. Owns its SSRC and rewrites every forwarded packet into that
/// subscriber's numbering (webrtc.md §4, §5.10): SSRC, payload type, continuous sequence numbers and
/// timestamps, extension ids; the transport-wide sequence number and abs-send-time are ours to set.
/// Video starts, and resumes after the gate reopens, on a keyframe it asks the producer for.
/// Forward is called on the producer's receive thread; a lock keeps per-consumer state consistent
/// when a subscriber's producers arrive on different threads.
/// </summary>
internal sealed partial class Consumer
{
    /// <summary>The target encoding of a video consumer that forwards no video (audio-only fallback).</summary>
    public const int Paused = -1;

    /// <summary>The largest extension block we write: room for every element we negotiate, at most 16 bytes each.</summary>
    private const int MaxExtensionBytes = 64;

    /// <summary>How much longer than the publisher's our packet can be: a full extension block plus its 4-byte header, and RTX's original sequence number (RFC 4588 §4).</summary>
    private const int MaxAddedHeaderBytes = MaxExtensionBytes + 4 + 2;

    /// <summary>
    /// Loss fraction (in 1/256, RFC 3550 §6.4.1) from which repairs are sent twice: 1 %. Only up to the loss that means
    /// congestion (<see cref="BandwidthAllocator.CongestionLoss"/>): on a full link a second copy only adds to the queue.
    /// </summary>
    private const int LossForDoubleRepair = 3;

    /// <summary>
    /// Repairs may add at most this share of the current layer's rate (<see cref="RepairBudget"/>): at 5 % random loss,
    /// repairs sent twice use a fifth of it; on a congested link, where the subscriber NACKs most of what we send and
    /// each repair is as likely to be dropped, answering every NACK would double the load on the link that is full.
    /// </summary>
    private const double RepairShare = 0.5;

    /// <summary>The repair budget never falls below this (bit/s): a low layer's keyframe must still be repairable.</summary>
    private const long MinRepairRate = 96_000;

    /// <summary>How long after a climb the subscriber's NACKs are watched for its failure.</summary>
    private static readonly long ClimbWatch = 2 * Stopwatch.Frequency;

    /// <summary>A climb fails when the subscriber NACKs this share of what the new layer sent (after <see cref="ClimbMinPackets"/>).</summary>
    private const double ClimbFailedShare = 0.25;

    private const int ClimbMinPackets = 20;

    /// <summary>Outgoing packets remembered for NACKs: more than the producer's retransmission buffer holds.</summary>
    private const int HistorySize = 1024;

    private readonly byte[] _extensionIdMap = new byte[256];
    private readonly byte[] _mid;
    private readonly Lock _lock = new();
    private readonly ISubscriberTransport _transport;
    private readonly bool _isVideo;
    private readonly bool _isVp8;
    private readonly int[] _historySequence = new int[HistorySize];
    private readonly ushort[] _historyOriginal = new ushort[HistorySize];
    private readonly byte[] _historyEncoding = new byte[HistorySize];
    private readonly uint[] _historyTimestampOffset = new uint[HistorySize];
    private readonly ushort[] _historyPictureIdOffset = new ushort[HistorySize];
    private readonly byte[] _historyTl0Offset = new byte[HistorySize];
    private readonly bool[] _historyNacked = new bool[HistorySize];
    private bool _started;
    private bool _needKeyFrame;
    private ushort _sequenceOffset;
    private uint _timestampOffset;
    private ushort _pictureIdOffset;
    private byte _tl0Offset;
    private int _lastPictureId = -1;
    private int _lastTl0PicIdx = -1;
    private ushort _lastSequence;
    private uint _lastTimestamp;
    private long _lastSentTimestamp;
    private ushort _rtxSequence;
    private int _targetEncoding;
    private int _currentEncoding = Paused;
    private long _currentSince;
    private readonly RepairBudget _repairBudget = new();

    // The watch on a climb (a move up a layer): see ClimbFailed.
    private bool _climbPending;
    private int _climbedFrom = Paused;
    private long _climbSince;
    private int _climbSent;
    private int _climbNacked;
    private int _climbFailed;
    private long _lossWindowStart;
    private long _lossWindowSentBits;
    private long _lossWindowSentPackets;
    private uint _lossWindowHighest;
    private int _lossWindowLost;
    private int _producerGateGeneration;
    private int _subscriberGateGeneration;
    private volatile bool _rtxEnabled;
    private int _reportedLoss;
    private readonly LossTracker _subscriberLoss = new();
    private long _subscriberRoundTrip = Stopwatch.Frequency / 10; // 100 ms until a Receiver Report tells us better
    private int _playoutDelayMs;
    private long _playoutDelayWriteUntil;

    /// <summary>The playout-delay element's 3-byte value, packed (housekeeping encodes it), or −1 when none is written.</summary>
    private int _playoutDelayElement = -1;

    public Consumer(string id, ConsumerParameters parameters, Producer producer, ISubscriberTransport transport, IMediaGate gate)
    {
        Id = id;
        Parameters = parameters;
        Producer = producer;
        _transport = transport;
        Gate = gate;
        _isVideo = parameters.Kind == MediaKind.Video;
        _isVp8 = _isVideo && parameters.Codec.IsCodec("VP8");
        _needKeyFrame = _isVideo;
        if (!_isVideo)
        {
            _currentEncoding = 0;
        }
        else
        {
            // Start on the best encoding arriving now; the subscriber's estimate brings it down if its link cannot carry it.
            long best = 0;
            for (var i = 0; i < producer.EncodingCount; i++)
            {
                var rate = producer.GetEncodingBitrate(i);
                if (rate > best)
                {
                    best = rate;
                    _targetEncoding = i;
                }
            }
        }

        Array.Fill(_historySequence, -1);
        var from = producer.Parameters.Extensions;
        var to = parameters.Extensions;
        Map(from.AbsSendTime, to.AbsSendTime);
        Map(from.TransportWideCc, to.TransportWideCc);
        Map(from.AudioLevel, to.AudioLevel);
        _mid = System.Text.Encoding.ASCII.GetBytes(parameters.Mid);
        // MID is written from the subscriber's own m-line (WritePacket); rid/repaired-rid describe the
        // publisher's encodings, and a subscriber receives one plain stream.
        _lastSequence = (ushort)Random.Shared.Next(0, 0x8000);
        _lastTimestamp = (uint)Random.Shared.Next();
        _rtxSequence = (ushort)Random.Shared.Next(0, 0x8000);
    }

    public string Id { get; }

    public ConsumerParameters Parameters { get; }

    public Producer Producer { get; }

    public IMediaGate Gate { get; }

    public uint Ssrc => Parameters.Ssrc;

    public bool IsClosed { get; private set; }

    public long PacketsSent { get; private set; }

    public long OctetsSent { get; private set; }

    /// <summary>Packets resent in answer to the subscriber's NACKs (as RTX when negotiated).</summary>
    public long Retransmissions { get; private set; }

    public long RtxPacketsSent { get; private set; }

    public long RtxOctetsSent { get; private set; }

    /// <summary>Simulcast switches done (on a keyframe of the new layer), audio-only fallback included.</summary>
    public int LayerSwitches { get; private set; }

    /// <summary>
    /// The subscriber's answer kept our RTX payload type (RFC 4588 §8.6): retransmissions then go on the RTX SSRC with
    /// the original sequence number in front of the payload, so the receiver's loss and jitter statistics of the media
    /// SSRC stay clean. Without it they are resent as they were.
    /// </summary>
    public bool RtxEnabled
    {
        get => _rtxEnabled;
        set => _rtxEnabled = value && Parameters.RtxSsrc is not null && Parameters.Codec.RtxPayloadType is not null;
    }

    /// <summary><see cref="Stopwatch"/> timestamp of the first packet sent after the gate last opened (0 before).</summary>
    public long FirstPacketTimestamp { get; private set; }

    /// <summary>Called (under the consumer's lock, on a receive thread) when the first packet after a (re)start goes out.</summary>
    public Action<Consumer>? FirstPacketAfterStart { get; set; }

    /// <summary>
    /// Which simulcast encoding this consumer should take (0 = the first offered; <see cref="Paused"/> = no video). A change
    /// asks the producer for a keyframe of that encoding; the switch happens on it (webrtc.md §4), until then the current
    /// encoding goes on.
    /// </summary>
    public int TargetEncoding
    {
        get => Volatile.Read(ref _targetEncoding);
        set => SwitchTo(value, immediate: value == Paused);
    }

    /// <summary>
    /// Sets the target encoding. <paramref name="immediate"/> stops the current encoding at once instead of at the target's
    /// keyframe: going down because the subscriber's link is congested, the old layer must not keep filling it while the
    /// keyframe of the new one tries to get through. <see cref="Paused"/> (audio-only fallback) is always immediate.
    /// </summary>
    public void SwitchTo(int encoding, bool immediate)
    {
        bool changed;
        lock (_lock)
        {
            changed = encoding != _targetEncoding;
            _targetEncoding = encoding;
            _climbPending = !immediate && encoding != Paused;
            _climbSince = 0;
            if (encoding == _currentEncoding && !_needKeyFrame)
            {
                // Back to the layer still flowing (a pending switch given up): nothing to stop, no keyframe to wait for.
                return;
            }

            if ((immediate || encoding == Paused) && changed && _currentEncoding != Paused)
            {
                _currentEncoding = Paused;
                Volatile.Write(ref _currentSince, Stopwatch.GetTimestamp());
                if (encoding == Paused)
                {
                    LayerSwitches++;
                    RelayMetrics.LayerSwitches.Inc();
                }
            }
        }

        if (changed && encoding >= 0)
        {
            Producer.RequestKeyFrame(encoding);
        }
    }

    /// <summary>
    /// Owned by the subscriber's <see cref="BandwidthAllocator"/>: the encoding this consumer left only because the
    /// publisher stopped sending it (its encoder turns the top layer off while its own estimate is short), to be taken
    /// again as soon as it arrives again, unless the subscriber's link spoke against it meanwhile. <see cref="Paused"/> = none.
    /// </summary>
    internal int ReturnEncoding { get; set; } = Paused;

    /// <summary>The encoding being forwarded now (<see cref="Paused"/> before the first keyframe and in audio-only).</summary>
    public int CurrentEncoding => Volatile.Read(ref _currentEncoding);

    /// <summary><see cref="Stopwatch"/> timestamp of the last change of <see cref="CurrentEncoding"/>: the keyframe that started it, or the stop (0 before the first).</summary>
    internal long CurrentSince => Volatile.Read(ref _currentSince);

    public void Forward(ReadOnlySpan<byte> packet, in RtpHeader header, int encoding, bool isKeyFrame)
    {
        if (IsClosed)
        {
            return;
        }

        if (_isVideo ? encoding != Volatile.Read(ref _targetEncoding) && encoding != Volatile.Read(ref _currentEncoding) : encoding != 0)
        {
            return;
        }

        if (!Gate.IsOpen)
        {
            lock (_lock)
            {
                // Resume on a fresh keyframe with continuous numbering once the gate opens again.
                _needKeyFrame = _isVideo;
                _started = false;
                FirstPacketTimestamp = 0;
            }

            RelayMetrics.DroppedNotAdmitted.Inc();
            return;
        }

        if (!_transport.IsConnected)
        {
            // The subscriber has no SRTP keys yet: whatever we sent would be lost, and the keyframe it must start
            // on with it. Wait, and start on a keyframe once it can hear us (webrtc.md §5.9).
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(packet.Length + MaxAddedHeaderBytes + WebRtcTransport.MaxProtectionOverhead);
        try
        {
            int length;
            lock (_lock)
            {
                var producerGeneration = Producer.Gate.Generation;
                var subscriberGeneration = Gate.Generation;
                if (_started && (producerGeneration != _producerGateGeneration || subscriberGeneration != _subscriberGateGeneration))
                {
                    // A gate closed and opened again since we started, possibly without our seeing a packet dropped
                    // (the producer drops its publisher's packets itself): restart like after our own gate.
                    _started = false;
                    _needKeyFrame = _isVideo;
                    FirstPacketTimestamp = 0;
                }

                if (_isVideo && !SelectVideo(encoding, isKeyFrame))
                {
                    return;
                }

                if (!_started)
                {
                    Resynchronize(header);
                    _started = true;
                    _producerGateGeneration = producerGeneration;
                    _subscriberGateGeneration = subscriberGeneration;
                    FirstPacketTimestamp = Stopwatch.GetTimestamp();
                    FirstPacketAfterStart?.Invoke(this);
                }

                var sequence = (ushort)(header.SequenceNumber + _sequenceOffset);
                var timestamp = header.Timestamp + _timestampOffset;
                var newest = (short)(sequence - _lastSequence) > 0;
                if (newest)
                {
                    _lastSequence = sequence;
                    _lastTimestamp = timestamp;
                    _lastSentTimestamp = Stopwatch.GetTimestamp();
                }

                length = WritePacket(packet, header, buffer, Parameters.Ssrc, (byte)Parameters.Codec.PayloadType, sequence, timestamp, -1, newest);
                if (_isVideo)
                {
                    Remember(sequence, header.SequenceNumber, encoding);
                }

                PacketsSent++;
                OctetsSent += header.PayloadLength;
                if (_climbSince != 0)
                {
                    _climbSent++;
                }
            }

            if (_transport.SendRtp(buffer, length))
            {
                RelayMetrics.PacketsForwarded.Inc();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A NACK from the subscriber named our sequence number <paramref name="sequence"/> (RFC 4585 §6.2.1): resend it from the
    /// producer's retransmission buffer, rewritten exactly as first sent, on the RTX SSRC when negotiated (RFC 4588 §4).
    /// False when the packet is no longer there.
    /// </summary>
    public bool Retransmit(ushort sequence)
    {
        if (!_isVideo || IsClosed || !Gate.IsOpen || !_transport.IsConnected)
        {
            return false;
        }

        if (Volatile.Read(ref _historySequence[sequence % HistorySize]) == sequence)
        {
            // We sent it and the subscriber lost it: its own link is lossy. (A packet the publisher's link lost never
            // went out, so is not in the history; that loss is the publisher's, counted by the producer.)
            _subscriberLoss.Record(1, Stopwatch.GetTimestamp());
        }

        var original = ArrayPool<byte>.Shared.Rent(RetransmissionBuffer.MaxPacketLength);
        var buffer = ArrayPool<byte>.Shared.Rent(RetransmissionBuffer.MaxPacketLength + MaxAddedHeaderBytes + WebRtcTransport.MaxProtectionOverhead);
        try
        {
            int length;
            lock (_lock)
            {
                var slot = sequence % HistorySize;
                if (_historySequence[slot] != sequence || _historyEncoding[slot] != _currentEncoding)
                {
                    // Not ours, or from a layer we have since left: the subscriber's decoder starts afresh on the new
                    // layer's keyframe, so resending the old one would only crowd a link we left it for.
                    return false;
                }

                WatchClimb(slot);

                var copied = Producer.CopyForRetransmission(_historyEncoding[slot], _historyOriginal[slot], original);
                if (copied == 0 || !RtpHeader.TryRead(original.AsSpan(0, copied), out var header))
                {
                    return false;
                }

                var rate = Math.Max(MinRepairRate, (long)(Producer.GetEncodingBitrate(_currentEncoding) * RepairShare));
                if (!_repairBudget.TrySpend(copied, rate, Stopwatch.GetTimestamp()))
                {
                    RelayMetrics.RetransmissionsOverBudget.Inc();
                    return false;
                }

                var timestamp = header.Timestamp + _historyTimestampOffset[slot];
                var pictureIdOffset = _pictureIdOffset;
                var tl0Offset = _tl0Offset;
                _pictureIdOffset = _historyPictureIdOffset[slot];
                _tl0Offset = _historyTl0Offset[slot];
                if (_rtxEnabled)
                {
                    length = WritePacket(original.AsSpan(0, copied), header, buffer, Parameters.RtxSsrc!.Value, (byte)Parameters.Codec.RtxPayloadType!.Value, _rtxSequence++, timestamp, sequence, newest: false);
                    RtxPacketsSent++;
                    RtxOctetsSent += header.PayloadLength + 2;
                }
                else
                {
                    length = WritePacket(original.AsSpan(0, copied), header, buffer, Parameters.Ssrc, (byte)Parameters.Codec.PayloadType, sequence, timestamp, -1, newest: false);
                }

                _pictureIdOffset = pictureIdOffset;
                _tl0Offset = tl0Offset;
                Retransmissions++;
            }

            // On a link that loses packets (the subscriber's RR said so) the repair is sent twice: losing it too would
            // cost another NACK round trip, and with it a frozen frame. At 5 % loss that is 5 % more repair traffic.
            var loss = Volatile.Read(ref _reportedLoss);
            var twice = loss >= LossForDoubleRepair && loss < BandwidthAllocator.CongestionLoss;
            var copy = twice ? ArrayPool<byte>.Shared.Rent(length + WebRtcTransport.MaxProtectionOverhead) : null;
            try
            {
                if (copy is not null)
                {
                    buffer.AsSpan(0, length).CopyTo(copy);
                }

                var sent = _transport.SendRtp(buffer, length);
                if (copy is not null)
                {
                    sent |= _transport.SendRtp(copy, length);
                }

                if (sent)
                {
                    RelayMetrics.Retransmissions.Inc();
                }

                return sent;
            }
            finally
            {
                if (copy is not null)
                {
                    ArrayPool<byte>.Shared.Return(copy);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(original);
        }
    }

    /// <summary>
    /// The first NACK for a packet we sent since a climb counts against it (under the lock). A link that cannot carry the
    /// new layer shows within a round trip or two as NACKs for a good share of it, long before a report window closes:
    /// the climb is then marked failed for the allocator to undo at once (<see cref="TakeFailedClimb"/>).
    /// </summary>
    private void WatchClimb(int slot)
    {
        if (_climbSince == 0 || _historyNacked[slot])
        {
            return;
        }

        _historyNacked[slot] = true;
        if (Stopwatch.GetTimestamp() - _climbSince > ClimbWatch)
        {
            _climbSince = 0; // it held
            return;
        }

        _climbNacked++;
        if (_climbSent >= ClimbMinPackets && _climbNacked >= _climbSent * ClimbFailedShare)
        {
            _climbSince = 0;
            Volatile.Write(ref _climbFailed, 1);
        }
    }

    /// <summary>
    /// The layer this consumer climbed from, when its subscriber's NACKs showed the climb failing since the last call;
    /// <see cref="Paused"/> otherwise.
    /// </summary>
    internal int TakeFailedClimb()
    {
        if (Interlocked.Exchange(ref _climbFailed, 0) == 0)
        {
            return Paused;
        }

        lock (_lock)
        {
            return _climbedFrom;
        }
    }

    /// <summary>
    /// A PLI or FIR from the subscriber for our SSRC. Ignored while the subscriber waits (R3): it receives nothing,
    /// so it has no picture to repair, and its requests must not make an admitted publisher's encoder work.
    /// </summary>
    public void OnKeyFrameRequest()
    {
        if (Gate.IsOpen && !IsClosed)
        {
            var encoding = CurrentEncoding;
            Producer.RequestKeyFrame(encoding >= 0 ? encoding : TargetEncoding);
        }
    }

    /// <summary>
    /// RFC 3550 §6.4.1 Sender Report for our SSRC, so the browser can map RTP time to wall-clock time (lip sync), followed
    /// by one for our RTX SSRC once it carried anything (every outgoing SSRC reports, §6.1). Returns the bytes written,
    /// 0 when nothing was sent yet.
    /// </summary>
    public int WriteSenderReport(Span<byte> destination, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (PacketsSent == 0)
            {
                return 0;
            }

            var elapsed = Stopwatch.GetElapsedTime(_lastSentTimestamp).TotalSeconds;
            var rtpNow = _lastTimestamp + (uint)(elapsed * Parameters.Codec.ClockRate);
            var ntp = NtpTime.From(now);
            var length = SenderReport.Write(destination, Parameters.Ssrc, ntp, rtpNow, (uint)PacketsSent, (uint)OctetsSent, default);
            if (RtxPacketsSent > 0 && Parameters.RtxSsrc is { } rtx)
            {
                length += SenderReport.Write(destination[length..], rtx, ntp, rtpNow, (uint)RtxPacketsSent, (uint)RtxOctetsSent, default);
            }

            return length;
        }
    }

    /// <summary>The subscriber's Receiver Report block for our SSRC (RFC 3550 §6.4.2): how lossy its link is.</summary>
    public void OnReceiverReport(in ReportBlock block) => OnReceiverReport(block, DateTimeOffset.UtcNow);

    /// <summary>
    /// The report block also gives the subscriber's round trip (RFC 3550 §6.4.1: arrival − LSR − DLSR, in 1/65536 s),
    /// when it answers a Sender Report of ours.
    /// </summary>
    internal void OnReceiverReport(in ReportBlock block, DateTimeOffset arrival)
    {
        Volatile.Write(ref _reportedLoss, block.FractionLost);
        if (block.LastSenderReport == 0)
        {
            return;
        }

        var roundTrip = NtpTime.Middle(NtpTime.From(arrival)) - block.LastSenderReport - block.DelaySinceLastSenderReport;
        if (roundTrip < 2 * 65536)
        {
            var sample = Math.Max(1, (long)roundTrip * Stopwatch.Frequency / 65536);
            var smoothed = Volatile.Read(ref _subscriberRoundTrip);
            Volatile.Write(ref _subscriberRoundTrip, smoothed + ((sample - smoothed) / 4));
        }
    }

    /// <summary>The subscriber's round trip from its Receiver Reports (100 ms before the first).</summary>
    public TimeSpan SubscriberRoundTrip => TimeSpan.FromSeconds((double)Volatile.Read(ref _subscriberRoundTrip) / Stopwatch.Frequency);

    /// <summary>The minimum playout delay the subscriber is asked for now (zero on clean links).</summary>
    public TimeSpan PlayoutDelay => TimeSpan.FromMilliseconds(Volatile.Read(ref _playoutDelayMs));

    /// <summary>
    /// The subscriber's loss on this stream over a window of at least a second, from the cumulative counts of its reports
    /// (RFC 3550 §6.4.1: lost and extended highest sequence number), with the rate that arrived in it (packets received
    /// × the average size of what we sent meanwhile, overhead included); null until a report closes a window, or when
    /// nothing was expected in it. A single report's fraction can span a few packets (browsers report several times a
    /// second at high rates), so one dropped keyframe burst could read as 90 % loss; over a second it reads as what it was.
    /// </summary>
    internal LossWindow? CloseLossWindow(in ReportBlock block, long now)
    {
        lock (_lock)
        {
            // RTP header with extensions, SRTP tag, UDP and IP: about 50 bytes a packet on top of the payload.
            var sentBits = (OctetsSent + (PacketsSent * 50)) * 8;
            var sentPackets = PacketsSent;
            if (_lossWindowStart == 0 || (int)(block.ExtendedHighestSequence - _lossWindowHighest) < 0)
            {
                (_lossWindowStart, _lossWindowHighest, _lossWindowLost) = (now, block.ExtendedHighestSequence, block.CumulativeLost);
                (_lossWindowSentBits, _lossWindowSentPackets) = (sentBits, sentPackets);
                return null;
            }

            if (now - _lossWindowStart < Stopwatch.Frequency)
            {
                return null;
            }

            long expected = (int)(block.ExtendedHighestSequence - _lossWindowHighest);
            long lost = block.CumulativeLost - _lossWindowLost;
            var packets = sentPackets - _lossWindowSentPackets;
            var bits = sentBits - _lossWindowSentBits;
            var start = _lossWindowStart;
            (_lossWindowStart, _lossWindowHighest, _lossWindowLost) = (now, block.ExtendedHighestSequence, block.CumulativeLost);
            (_lossWindowSentBits, _lossWindowSentPackets) = (sentBits, sentPackets);
            if (expected <= 0)
            {
                return null;
            }

            var received = packets > 0 ? Math.Max(0, expected - lost) * (bits / packets) * Stopwatch.Frequency / (now - start) : 0;
            return new LossWindow((int)Math.Clamp(lost * 256 / expected, 0, 255), received, start);
        }
    }

    /// <summary>
    /// Housekeeping: the playout delay from how lossy both hops are now (<see cref="PlayoutDelayPolicy"/>). Once raised
    /// it is written into every video packet, and for a while after it drops back to zero so the browser hears that too.
    /// </summary>
    public void UpdatePlayoutDelay(long now)
    {
        if (!_isVideo || Parameters.Extensions.PlayoutDelay is not (> 0 and <= 14))
        {
            return;
        }

        var encoding = CurrentEncoding >= 0 ? CurrentEncoding : TargetEncoding;
        var publisherRoundTrip = encoding >= 0 && Producer.GetStatistics(encoding) is { } statistics ? statistics.NackRoundTrip : TimeSpan.FromMilliseconds(100);
        var delay = PlayoutDelayPolicy.Compute(Producer.PublisherLoss.IsLossy(now), publisherRoundTrip, _subscriberLoss.IsLossy(now), SubscriberRoundTrip);
        var milliseconds = (int)Math.Ceiling(delay.TotalMilliseconds);
        if (milliseconds > 0)
        {
            _playoutDelayWriteUntil = now + (10 * Stopwatch.Frequency);
        }

        if (milliseconds > 0 && Volatile.Read(ref _playoutDelayMs) == 0)
        {
            RelayMetrics.PlayoutDelayRaised.Inc();
        }

        Volatile.Write(ref _playoutDelayMs, milliseconds);
        var element = -1;
        if (milliseconds > 0 || now < _playoutDelayWriteUntil)
        {
            Span<byte> value = stackalloc byte[3];
            PlayoutDelayPolicy.Write(value, delay, PlayoutDelayPolicy.Upper);
            element = (value[0] << 16) | (value[1] << 8) | value[2];
        }

        Volatile.Write(ref _playoutDelayElement, element);
    }

    public void OnProducerClosed() => IsClosed = true;

    public void Close()
    {
        IsClosed = true;
        Producer.RemoveConsumer(this);
    }

    /// <summary>
    /// Decides under the lock whether a video packet of <paramref name="encoding"/> goes out. A pending switch (target differs
    /// from current, or a restart) completes on the first keyframe of the target; until then the current encoding goes on,
    /// so the picture never stops while we wait (webrtc.md §4). False: drop the packet.
    /// </summary>
    private bool SelectVideo(int encoding, bool isKeyFrame)
    {
        var target = _targetEncoding;
        if (target == Paused)
        {
            return false;
        }

        if (encoding == target && (target != _currentEncoding || _needKeyFrame))
        {
            if (isKeyFrame)
            {
                if (_currentEncoding != target)
                {
                    if (PacketsSent > 0)
                    {
                        LayerSwitches++;
                        RelayMetrics.LayerSwitches.Inc();
                    }

                    // Continue the numbering from what the subscriber last saw (Resynchronize on this packet).
                    _started = false;
                }

                if (_currentEncoding != target)
                {
                    Volatile.Write(ref _currentSince, Stopwatch.GetTimestamp());
                    if (_climbPending && _currentEncoding != Paused)
                    {
                        // A climb from a layer that was flowing: watch whether the link carries the new one.
                        (_climbedFrom, _climbSince, _climbSent, _climbNacked) = (_currentEncoding, _currentSince, 0, 0);
                    }

                    _climbPending = false;
                }

                _currentEncoding = target;
                _needKeyFrame = false;
            }
            else
            {
                Producer.RequestKeyFrame(target);
            }
        }

        return encoding == _currentEncoding && !_needKeyFrame;
    }

    /// <summary>
    /// Maps the stream that starts with this packet onto what the subscriber saw last: the next sequence number, a
    /// timestamp advanced by the wall-clock time since our last packet (never backwards, RFC 3550 §5.1), and for VP8 the
    /// next PictureID and TL0PICIDX (RFC 7741 §4.2), so a layer switch or a restart looks like one gap-free stream.
    /// </summary>
    private void Resynchronize(in RtpHeader header)
    {
        _sequenceOffset = (ushort)(_lastSequence + 1 - header.SequenceNumber);
        var elapsed = _lastSentTimestamp == 0 ? 0 : Stopwatch.GetElapsedTime(_lastSentTimestamp).TotalSeconds;
        var advance = (uint)Math.Max(1, elapsed * Parameters.Codec.ClockRate);
        _timestampOffset = _lastTimestamp + advance - header.Timestamp;
        if (_isVp8 && Vp8PayloadDescriptor.TryRead(header.Payload, out var descriptor))
        {
            if (descriptor.HasPictureId)
            {
                _pictureIdOffset = _lastPictureId < 0 ? (ushort)0 : (ushort)((_lastPictureId + 1 - descriptor.PictureId) & 0x7FFF);
            }

            if (descriptor.HasTl0PicIdx)
            {
                _tl0Offset = _lastTl0PicIdx < 0 ? (byte)0 : (byte)(_lastTl0PicIdx + 1 - descriptor.Tl0PicIdx);
            }
        }
    }

    private void Remember(ushort sequence, ushort original, int encoding)
    {
        var slot = sequence % HistorySize;
        _historySequence[slot] = sequence;
        _historyOriginal[slot] = original;
        _historyEncoding[slot] = (byte)encoding;
        _historyTimestampOffset[slot] = _timestampOffset;
        _historyPictureIdOffset[slot] = _pictureIdOffset;
        _historyTl0Offset[slot] = _tl0Offset;
        _historyNacked[slot] = false;
    }

    private void Map(int from, int to)
    {
        if (from is > 0 and < 256 && to is > 0 and < 256)
        {
            _extensionIdMap[from] = (byte)to;
        }
    }
}
