using System.Buffers;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// An outgoing track for one subscriber. Owns its SSRC and rewrites every forwarded packet into that subscriber's
/// numbering: SSRC, payload type, continuous sequence numbers and timestamps (RFC 3550 §5.1), extension ids; the
/// transport-wide sequence number and abs-send-time are ours to set. Video starts, and resumes after the gate reopens, on
/// a keyframe it asks the producer for. The parts each keep their own state: which simulcast layer goes out
/// (<see cref="LayerSelection"/>), the numbering (<see cref="OutgoingNumbering"/>, <see cref="Vp8Numbering"/>), the
/// packet as written (<see cref="OutgoingRtpWriter"/>), the answers to NACKs (<see cref="SentPacketHistory"/>,
/// <see cref="RepairBudget"/>, <see cref="ClimbWatcher"/>; Consumer.Repair.cs), and what the subscriber's reports say
/// (<see cref="SubscriberReports"/>, <see cref="PlayoutDelaySetting"/>; Consumer.Reports.cs).
/// Forward is called on the producer's receive thread, Retransmit on the subscriber's: one lock keeps the consumer's
/// state consistent when a subscriber's producers arrive on different threads. The parts are not thread-safe themselves
/// and are used under that lock, but for what each documents as safe without it.
/// </summary>
internal sealed partial class Consumer : ILayeredConsumer
{
    /// <summary>The target encoding of a video consumer that forwards no video (audio-only fallback).</summary>
    public const int Paused = -1;

    private readonly Lock _lock = new();
    private readonly SubscriberTransport _transport;
    private readonly RoutingClock _clock;
    private readonly bool _isVideo;
    private readonly LayerSelection _layers;
    private readonly OutgoingNumbering _numbering;
    private readonly Vp8Numbering? _vp8;
    private readonly OutgoingRtpWriter _writer;
    private readonly SentPacketHistory? _history; // video only: audio is not repaired
    private readonly ClimbWatcher _climb = new();
    private readonly RepairBudget _repairBudget = new();
    private readonly SubscriberReports _reports = new();
    private readonly LossTracker _subscriberLoss = new();
    private readonly PlayoutDelaySetting _playoutDelay = new();
    private bool _started;
    private int _producerGateGeneration;
    private int _subscriberGateGeneration;
    private ushort _rtxSequence;
    private volatile bool _rtxEnabled;
    private long _view = -1; // ViewSize.None, packed (width in the high half)

    // From Parameters, read here on every packet rather than through the parameters and their codec.
    private readonly uint _ssrc;
    private readonly byte _payloadType;

    public Consumer(string id, ConsumerParameters parameters, Producer producer, SubscriberTransport transport, MediaGate gate, RoutingClock? clock = null)
    {
        Id = id;
        Parameters = parameters;
        Producer = producer;
        _transport = transport;
        _clock = clock ?? RoutingClock.System;
        Gate = gate;
        _isVideo = parameters.Kind == MediaKind.Video;
        _ssrc = parameters.Ssrc;
        _payloadType = (byte)parameters.Codec.PayloadType;
        _history = _isVideo ? new SentPacketHistory() : null;
        _layers = new LayerSelection(_isVideo ? BestArriving(producer) : 0, awaitKeyFrame: _isVideo, _clock);
        _numbering = new OutgoingNumbering(parameters.Codec.ClockRate, _clock);
        _vp8 = _isVideo && parameters.Codec.IsCodec("VP8") ? new Vp8Numbering() : null;
        _writer = new OutgoingRtpWriter(producer.Parameters.Extensions, parameters.Extensions, parameters.Mid, transport, _playoutDelay, _vp8, _clock);
        _rtxSequence = (ushort)Random.Shared.Next(0, 0x8000);
    }

    public string Id { get; }

    public ConsumerParameters Parameters { get; }

    public Producer Producer { get; }

    public MediaGate Gate { get; }

    public uint Ssrc => Parameters.Ssrc;

    public bool IsClosed { get; private set; }

    public long PacketsSent { get; private set; }

    public long OctetsSent { get; private set; }

    /// <summary>Simulcast switches done (on a keyframe of the new layer), audio-only fallback included.</summary>
    public int LayerSwitches => _layers.Switches;

    /// <summary><see cref="RoutingClock"/> timestamp of the first packet sent after the gate last opened (0 before).</summary>
    public long FirstPacketTimestamp { get; private set; }

    /// <summary>Called (under the consumer's lock, on a receive thread) when the first packet after a (re)start goes out.</summary>
    public Action<Consumer>? FirstPacketAfterStart { get; set; }

    /// <summary>
    /// Which simulcast encoding this consumer should take (0 = the first offered; <see cref="Paused"/> = no video). A change
    /// asks the producer for a keyframe of that encoding; the switch happens on it, until then the current encoding goes on.
    /// </summary>
    public int TargetEncoding
    {
        get => _layers.Target;
        set => SwitchTo(value, immediate: value == Paused);
    }

    /// <summary>
    /// Owned by the subscriber's <see cref="BandwidthAllocator"/>: the encoding this consumer left only because the
    /// publisher stopped sending it (its encoder turns the top layer off while its own estimate is short), to be taken
    /// again as soon as it arrives again, unless the subscriber's link spoke against it meanwhile. <see cref="Paused"/> = none.
    /// </summary>
    internal int ReturnEncoding { get; set; } = Paused;

    /// <summary>The encoding being forwarded now (<see cref="Paused"/> before the first keyframe and in audio-only).</summary>
    public int CurrentEncoding => _layers.Current;

    /// <summary><see cref="RoutingClock"/> timestamp of the last change of <see cref="CurrentEncoding"/>: the keyframe that started it, or the stop (0 before the first).</summary>
    internal long CurrentSince => _layers.CurrentSince;

    MediaKind ILayeredConsumer.Kind => Parameters.Kind;

    long ILayeredConsumer.CurrentSince => CurrentSince;

    int ILayeredConsumer.ReturnEncoding
    {
        get => ReturnEncoding;
        set => ReturnEncoding = value;
    }

    int ILayeredConsumer.EncodingCount => Producer.EncodingCount;

    long ILayeredConsumer.GetEncodingBitrate(int encoding) => Producer.GetEncodingBitrate(encoding);

    bool ILayeredConsumer.IsEncodingActive(int encoding) => Producer.IsEncodingActive(encoding);

    /// <summary>
    /// How large the subscriber's page shows this track (<see cref="ViewSize"/>; <see cref="ViewSize.None"/> until it
    /// says): its allocator leaves out the encodings larger than the one that covers it.
    /// </summary>
    public ViewSize View
    {
        get
        {
            var packed = Volatile.Read(ref _view);
            return new ViewSize((int)(packed >> 32), (int)packed);
        }

        set => Volatile.Write(ref _view, ((long)value.Width << 32) | (uint)value.Height);
    }

    /// <summary>
    /// Whether an encoding is larger than the view needs: a smaller one arriving now covers it (<see cref="ViewSize.Exceeds"/>).
    /// One not arriving, or of a size not known yet, is not.
    /// </summary>
    public bool ExceedsView(int encoding)
    {
        var view = View;
        var count = Producer.EncodingCount;
        if (view.IsNone || !_isVideo)
        {
            return false;
        }

        Span<PictureSize> sizes = count <= 16 ? stackalloc PictureSize[count] : new PictureSize[count];
        for (var i = 0; i < count; i++)
        {
            sizes[i] = Producer.IsEncodingActive(i) ? Producer.GetEncodingSize(i) : default;
        }

        return view.Exceeds(sizes, encoding);
    }

    /// <summary>
    /// Sets the target encoding. <paramref name="immediate"/> stops the current encoding at once instead of at the target's
    /// keyframe: going down because the subscriber's link is congested, the old layer must not keep filling it while the
    /// keyframe of the new one tries to get through. <see cref="Paused"/> (audio-only fallback) is always immediate.
    /// </summary>
    public void SwitchTo(int encoding, bool immediate) => Retarget(encoding, immediate, climb: true);

    /// <summary>
    /// Moves down to a smaller encoding because the subscriber shows the track smaller (<see cref="View"/>), not because
    /// its link is short: the current encoding goes on until the new one's keyframe, and the move is no climb to watch.
    /// </summary>
    public void SwitchDownForView(int encoding) => Retarget(encoding, immediate: false, climb: false);

    private void Retarget(int encoding, bool immediate, bool climb)
    {
        bool askKeyFrame;
        lock (_lock)
        {
            askKeyFrame = _layers.Retarget(encoding, immediate, climb);
            _climb.Stop();
        }

        if (askKeyFrame)
        {
            Producer.RequestKeyFrame(encoding);
        }
    }

    public void Forward(ReadOnlySpan<byte> packet, in RtpHeader header, int encoding, bool isKeyFrame)
    {
        if (IsClosed)
        {
            return;
        }

        if (_isVideo ? encoding != _layers.Target && encoding != _layers.Current : encoding != 0)
        {
            return;
        }

        if (!Gate.IsOpen)
        {
            lock (_lock)
            {
                // Resume on a fresh keyframe with continuous numbering once the gate opens again.
                Restart();
            }

            RelayMetrics.DroppedNotAdmitted.Inc();
            return;
        }

        if (!_transport.IsConnected)
        {
            // The subscriber has no SRTP keys yet: whatever we sent would be lost, and the keyframe it must start
            // on with it. Wait, and start on a keyframe once it can hear us.
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(packet.Length + OutgoingRtpWriter.MaxAddedHeaderBytes + WebRtcTransport.MaxProtectionOverhead);
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
                    Restart();
                }

                if (_isVideo && !SelectVideo(encoding, isKeyFrame))
                {
                    return;
                }

                if (!_started)
                {
                    _numbering.Resynchronize(header);
                    _vp8?.Resynchronize(header.Payload);
                    _started = true;
                    _producerGateGeneration = producerGeneration;
                    _subscriberGateGeneration = subscriberGeneration;
                    FirstPacketTimestamp = _clock.Now;
                    FirstPacketAfterStart?.Invoke(this);
                }

                var newest = _numbering.Map(header, out var sequence, out var timestamp);
                var vp8 = _vp8?.Offsets ?? default;
                length = _writer.Write(packet, header, buffer, new OutgoingRtp(_ssrc, _payloadType, sequence, timestamp, vp8, newest));
                _history?.Remember(sequence, header.SequenceNumber, encoding, _numbering.TimestampOffset, vp8, _numbering.LastSent);

                PacketsSent++;
                OctetsSent += header.PayloadLength;
                _climb.OnSent();
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

    public void OnProducerClosed() => IsClosed = true;

    public void Close()
    {
        IsClosed = true;
        Producer.RemoveConsumer(this);
    }

    /// <summary>The best encoding arriving now: a video consumer starts on it, and the subscriber's estimate brings it down if its link cannot carry it.</summary>
    private static int BestArriving(Producer producer)
    {
        var (best, bestRate) = (0, 0L);
        for (var i = 0; i < producer.EncodingCount; i++)
        {
            var rate = producer.GetEncodingBitrate(i);
            if (rate > bestRate)
            {
                (best, bestRate) = (i, rate);
            }
        }

        return best;
    }

    /// <summary>Under the lock: the stream starts again on a keyframe (video), its numbering continuing from what the subscriber saw last.</summary>
    private void Restart()
    {
        if (_isVideo)
        {
            _layers.RequireKeyFrame();
        }

        _started = false;
        FirstPacketTimestamp = 0;
    }

    /// <summary>
    /// Under the lock: whether a video packet of <paramref name="encoding"/> goes out (<see cref="LayerSelection.Select"/>).
    /// The keyframe that completes a switch restarts the numbering from what the subscriber last saw, and a climb from a
    /// flowing layer is watched from then on. False: drop the packet.
    /// </summary>
    private bool SelectVideo(int encoding, bool isKeyFrame)
    {
        switch (_layers.Select(encoding, isKeyFrame, countSwitch: PacketsSent > 0, out var climbedFrom))
        {
            case LayerStep.AwaitKeyFrame:
                Producer.RequestKeyFrame(encoding);
                return false;
            case LayerStep.Switched:
                _started = false;
                if (climbedFrom != Paused)
                {
                    _climb.Start(climbedFrom, _layers.CurrentSince);
                }

                return true;
            case LayerStep.Forward:
                return true;
            default:
                return false;
        }
    }
}
