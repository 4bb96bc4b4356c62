using System.Diagnostics;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// An incoming track of one publisher (one m-line; one stream per simulcast encoding). Fans each packet out
/// to its consumers and asks the publisher for keyframes on their behalf, coalesced (RFC 4585 §6.3.1, RFC 5104 §4.3.1).
/// </summary>
internal sealed class Producer
{
    /// <summary>Keyframe requests closer together than this are merged into one: a publisher asked for a keyframe per subscriber would send nothing but keyframes.</summary>
    private static readonly long KeyFrameRequestInterval = Stopwatch.Frequency / 4;

    /// <summary>How often lost packets are looked at again for a NACK retry when no new gap prompts it.</summary>
    private static readonly long NackCheckInterval = Stopwatch.Frequency / 50;

    /// <summary>An encoding that sent nothing for this long is off (Chrome stops the layers its estimate cannot carry).</summary>
    private static readonly long InactiveAfter = Stopwatch.Frequency;

    private static readonly long BitrateWindow = Stopwatch.Frequency / 2;

    private readonly WebRtcTransport _transport;
    private readonly RoutingClock _clock;
    private readonly RetransmissionBlocks _blocks;
    private readonly Lock _consumersLock = new();

    /// <summary>
    /// Everything kept per encoding, one object each, made together: a packet's work touches one or two memory lines of
    /// it, where an array per field (as before) touched one line per array, each fetched anew after the receive
    /// thread's pause.
    /// </summary>
    private readonly EncodingState[] _encodings;
    private readonly int _audioLevelId;
    private readonly VideoCodec _videoCodec;
    private Consumer[] _consumers = [];
    private long _lastKeyFrameRequest;
    private int _audioLevel = 127;
    private long _audioLevelAt;
    private long _keyFrameRequestsSent;
    private long _repairWindow = RoutingClock.TicksOf(RepairPolicy.StorageWindow(SubscriberReports.AssumedRoundTrip));
    private bool _isClosed;

    public Producer(string id, ProducerParameters parameters, WebRtcTransport transport, MediaGate gate, RetransmissionBlocks blocks, RoutingClock? clock = null)
    {
        Id = id;
        Parameters = parameters;
        _transport = transport;
        _clock = clock ?? RoutingClock.System;
        _blocks = blocks;
        Gate = gate;
        _encodings = new EncodingState[parameters.Encodings.Count];
        for (var i = 0; i < _encodings.Length; i++)
        {
            _encodings[i] = new EncodingState { Ssrc = parameters.Encodings[i].Ssrc ?? 0 };
        }

        _audioLevelId = parameters.Kind == MediaKind.Audio ? parameters.Extensions.AudioLevel : 0;
        _videoCodec = parameters.Kind != MediaKind.Video ? VideoCodec.None
            : parameters.Codec.IsCodec("VP8") ? VideoCodec.Vp8
            : parameters.Codec.IsCodec("H264") ? VideoCodec.H264
            : VideoCodec.Other;
    }

    public string Id { get; }

    /// <summary>
    /// The stream id subscribers get this track under (their msid, RFC 8830): the publisher's id for the tracks of its
    /// first stream (camera and microphone), and the id, <c>~</c> and the mid of the stream's first m-line for any
    /// further stream (a shared screen), so a subscriber can tell them apart. The publisher's id when not set.
    /// </summary>
    public string? StreamLabel { get; init; }

    public ProducerParameters Parameters { get; }

    public MediaKind Kind => Parameters.Kind;

    public MediaGate Gate { get; }

    public bool IsClosed { get => Volatile.Read(ref _isClosed); private set => Volatile.Write(ref _isClosed, value); }

    public long PacketsReceived { get; private set; }

    /// <summary>PLIs sent to the publisher for this track, after coalescing (its own count, beside the relay-wide metric).</summary>
    public long KeyFrameRequestsSent => Interlocked.Read(ref _keyFrameRequestsSent);

    /// <summary>RTX repairs restored into this track's streams (its own count, beside the relay-wide metric).</summary>
    public long RepairsReceived { get; private set; }

    public IReadOnlyList<Consumer> Consumers => Volatile.Read(ref _consumers);

    /// <summary>The SSRC a simulcast encoding was seen with (learned from MID/RID on its first packets).</summary>
    public uint GetEncodingSsrc(int encoding) => Volatile.Read(ref _encodings[encoding].Ssrc);

    public void SetEncodingSsrc(int encoding, uint ssrc) => Volatile.Write(ref _encodings[encoding].Ssrc, ssrc);

    public void AddConsumer(Consumer consumer)
    {
        lock (_consumersLock)
        {
            _consumers = [.. _consumers, consumer];
        }

        RequestKeyFrame();
    }

    public void RemoveConsumer(Consumer consumer)
    {
        lock (_consumersLock)
        {
            _consumers = Array.FindAll(_consumers, c => !ReferenceEquals(c, consumer));
        }
    }

    public int EncodingCount => _encodings.Length;

    /// <summary>Gaps in what the publisher sends us: whether its link loses packets now (for the subscribers' playout delay).</summary>
    internal LossTracker PublisherLoss { get; } = new();

    /// <summary>
    /// The smoothed bitrate of an encoding in bit/s (payload and headers as received), 0 when it is not sending:
    /// what a subscriber's link must carry to receive it.
    /// </summary>
    public long GetEncodingBitrate(int encoding) =>
        IsEncodingActive(encoding) ? Volatile.Read(ref _encodings[encoding].Bitrate) : 0;

    public bool IsEncodingActive(int encoding)
    {
        var last = Volatile.Read(ref _encodings[encoding].LastPacket);
        return last != 0 && _clock.Now - last < InactiveAfter;
    }

    /// <summary>
    /// The size of an encoding's pictures as its last keyframe announced it (VP8, RFC 6386 §9.1), or 0×0 when no keyframe
    /// of it was seen yet or the codec does not say (H.264): for the subscribers' view sizes (<see cref="ViewSize"/>).
    /// </summary>
    public PictureSize GetEncodingSize(int encoding) => PictureSize.Unpack(Volatile.Read(ref _encodings[encoding].PictureSize));

    /// <summary>
    /// The publisher's last audio level (RFC 6464 §3: 0 = 0 dBov, loudest, to 127 = silence), or 127 when it sent
    /// none in the last second.
    /// </summary>
    public int AudioLevel =>
        _clock.Now - Volatile.Read(ref _audioLevelAt) < Stopwatch.Frequency ? Volatile.Read(ref _audioLevel) : 127;

    /// <summary>The reception statistics of an encoding, once its SSRC is known.</summary>
    internal ReceiveStatistics? GetStatistics(int encoding) => Volatile.Read(ref _encodings[encoding].Statistics);

    /// <summary>Copies a stored packet of an encoding for a retransmission; 0 when it is no longer there.</summary>
    internal int CopyForRetransmission(int encoding, ushort sequence, Span<byte> destination) =>
        Volatile.Read(ref _encodings[encoding].Retransmissions)?.TryCopy(sequence, destination, _clock.Now) ?? 0;

    /// <summary>How long the video encodings' retransmission buffers keep each packet now (<see cref="RoutingClock"/> ticks).</summary>
    internal long RepairWindow => Volatile.Read(ref _repairWindow);

    /// <summary>
    /// Housekeeping: the retransmission buffers keep each packet for as long as the subscriber with the longest round trip
    /// may still ask for it (<see cref="RepairPolicy.StorageWindow"/>), the round trip a subscriber is assumed to have
    /// before its reports tell (<see cref="SubscriberReports.AssumedRoundTrip"/>) when there is none.
    /// </summary>
    public void UpdateRepairWindow()
    {
        if (_videoCodec == VideoCodec.None)
        {
            return;
        }

        var consumers = Volatile.Read(ref _consumers);
        var longest = consumers.Length == 0 ? SubscriberReports.AssumedRoundTrip : TimeSpan.Zero;
        foreach (var consumer in consumers)
        {
            var roundTrip = consumer.SubscriberRoundTrip;
            longest = roundTrip > longest ? roundTrip : longest;
        }

        var window = RoutingClock.TicksOf(RepairPolicy.StorageWindow(longest));
        Volatile.Write(ref _repairWindow, window);
        foreach (var state in _encodings)
        {
            Volatile.Read(ref state.Retransmissions)?.SetWindow(window);
        }
    }

    /// <summary>SR from the publisher (RFC 3550 §6.4.1): kept for the LSR/DLSR of our Receiver Reports.</summary>
    internal void OnSenderReport(uint ssrc, ulong ntpTimestamp, long arrival)
    {
        foreach (var state in _encodings)
        {
            if (Volatile.Read(ref state.Statistics) is { } statistics && statistics.Ssrc == ssrc)
            {
                statistics.OnSenderReport(ntpTimestamp, arrival);
            }
        }
    }

    /// <summary>Hot path: one decrypted packet of encoding <paramref name="encoding"/> (a repaired one too, in its original form).</summary>
    public void OnRtp(Span<byte> packet, in RtpHeader header, int encoding, bool isRepair = false)
    {
        PacketsReceived++;
        var now = _clock.Now;
        var state = _encodings[encoding];
        var statistics = state.Statistics;
        if (statistics is null || statistics.Ssrc != header.Ssrc)
        {
            // First packet of this SSRC (or the publisher restarted the stream): once per stream, not per packet.
            statistics = new ReceiveStatistics(header.Ssrc, Parameters.Codec.ClockRate);
            Volatile.Write(ref state.Statistics, statistics);
        }

        var video = _videoCodec != VideoCodec.None;
        var arrival = statistics.Classify(header.SequenceNumber, header.Timestamp, now, trackLoss: video && Gate.IsOpen);
        if (arrival == ReceiveStatistics.Arrival.Old)
        {
            // A duplicate, or an RTX packet Chrome sent as a probe rather than as the repair we asked for: already forwarded.
            return;
        }

        Measure(state, packet.Length, now);
        if (isRepair)
        {
            RelayMetrics.RepairsReceived.Inc();
            RepairsReceived++;
        }

        if (arrival == ReceiveStatistics.Arrival.GapOpened)
        {
            PublisherLoss.Record(1, now);
        }

        if (video && (arrival == ReceiveStatistics.Arrival.GapOpened || now - state.LastNackCheck >= NackCheckInterval))
        {
            state.LastNackCheck = now;
            SendNacks(statistics, now);
        }

        if (_audioLevelId > 0 && header.TryGetExtension((byte)_audioLevelId, out var level) && level.Length >= 1)
        {
            Volatile.Write(ref _audioLevel, level[0] & 0x7F);
            Volatile.Write(ref _audioLevelAt, now);
        }

        if (!Gate.IsOpen)
        {
            RelayMetrics.DroppedNotAdmitted.Inc();
            return;
        }

        if (video)
        {
            var buffer = Volatile.Read(ref state.Retransmissions);
            if (buffer is null)
            {
                buffer = new RetransmissionBuffer(_blocks, RepairWindow);
                if (Interlocked.CompareExchange(ref state.Retransmissions, buffer, null) is { } other)
                {
                    buffer.Release();
                    buffer = other;
                }
                else if (IsClosed)
                {
                    // Closed meanwhile: Close may have looked before this buffer was there.
                    Interlocked.Exchange(ref state.Retransmissions, null)?.Release();
                }
            }

            buffer.Store(packet, header.SequenceNumber, now);
        }

        var consumers = Volatile.Read(ref _consumers);
        if (consumers.Length == 0)
        {
            return;
        }

        var isKeyFrame = video && IsKeyFrame(header.Payload);
        if (isKeyFrame && _videoCodec == VideoCodec.Vp8 && Vp8PayloadDescriptor.TryReadKeyFrameSize(header.Payload, out var width, out var height))
        {
            Volatile.Write(ref state.PictureSize, new PictureSize(width, height).Packed);
        }

        foreach (var consumer in consumers)
        {
            consumer.Forward(packet, header, encoding, isKeyFrame);
        }
    }

    /// <summary>
    /// Sends a PLI (RFC 4585 §6.3.1) for one encoding, at most once per interval per encoding: a subscriber switching
    /// simulcast layers needs a keyframe of the layer it switches to, not of all of them.
    /// </summary>
    public void RequestKeyFrame(int encoding)
    {
        if (Kind != MediaKind.Video || IsClosed || (uint)encoding >= (uint)_encodings.Length)
        {
            return;
        }

        var now = _clock.Now;
        var state = _encodings[encoding];
        var last = Interlocked.Read(ref state.LastKeyFrameRequest);
        var ssrc = GetEncodingSsrc(encoding);
        if (ssrc == 0 || now - last < KeyFrameRequestInterval || Interlocked.CompareExchange(ref state.LastKeyFrameRequest, now, last) != last)
        {
            return;
        }

        Span<byte> buffer = stackalloc byte[64];
        var length = PictureLossIndication.Write(buffer, RelaySsrc, ssrc);
        _transport.SendRtcp(buffer, length);
        RelayMetrics.KeyFrameRequestsSent.Inc();
        Interlocked.Increment(ref _keyFrameRequestsSent);
    }

    /// <summary>Sends a PLI (RFC 4585 §6.3.1) for every encoding, at most once per interval; FIR-capable senders answer PLI too.</summary>
    public void RequestKeyFrame()
    {
        if (Kind != MediaKind.Video || IsClosed)
        {
            return;
        }

        var now = _clock.Now;
        var last = Interlocked.Read(ref _lastKeyFrameRequest);
        if (now - last < KeyFrameRequestInterval || Interlocked.CompareExchange(ref _lastKeyFrameRequest, now, last) != last)
        {
            return;
        }

        Span<byte> buffer = stackalloc byte[64];
        for (var i = 0; i < _encodings.Length; i++)
        {
            var ssrc = GetEncodingSsrc(i);
            if (ssrc == 0)
            {
                continue;
            }

            var length = PictureLossIndication.Write(buffer, RelaySsrc, ssrc);
            _transport.SendRtcp(buffer, length);
            Interlocked.Exchange(ref _encodings[i].LastKeyFrameRequest, now);
            RelayMetrics.KeyFrameRequestsSent.Inc();
            Interlocked.Increment(ref _keyFrameRequestsSent);
        }
    }

    public void Close()
    {
        IsClosed = true;
        foreach (var consumer in Volatile.Read(ref _consumers))
        {
            consumer.OnProducerClosed();
        }

        _consumers = [];
        foreach (var state in _encodings)
        {
            Interlocked.Exchange(ref state.Retransmissions, null)?.Release();
        }
    }

    /// <summary>Generic NACK (RFC 4585 §6.2.1) for the packets of this stream due for a (re)request.</summary>
    private void SendNacks(ReceiveStatistics statistics, long now)
    {
        Span<ushort> lost = stackalloc ushort[64];
        var count = statistics.CollectNacks(lost, now);
        if (count == 0)
        {
            return;
        }

        Span<byte> buffer = stackalloc byte[RtcpFeedbackHeader.Length + (4 * 64) + WebRtcTransport.MaxProtectionOverhead];
        var length = GenericNack.Write(buffer, RelaySsrc, statistics.Ssrc, lost[..count]);
        Span<byte> copy = stackalloc byte[buffer.Length];
        buffer[..length].CopyTo(copy);
        _transport.SendRtcp(buffer, length);
        // Sent twice: on a lossy link a lost NACK costs a whole retry interval, a frozen frame. The browser resends a
        // packet at most once per round trip (libwebrtc's RTPSender), so the copy only acts when the first was lost.
        _transport.SendRtcp(copy, length);
        RelayMetrics.NacksSent.Inc();
        RelayMetrics.NackedPackets.Inc(count);
    }

    private static void Measure(EncodingState state, int bytes, long now)
    {
        Volatile.Write(ref state.LastPacket, now);
        if (state.WindowStart == 0)
        {
            state.WindowStart = now;
        }

        state.WindowBytes += bytes;
        var elapsed = now - state.WindowStart;
        if (elapsed >= BitrateWindow)
        {
            var sample = state.WindowBytes * 8 * Stopwatch.Frequency / elapsed;
            var previous = state.Bitrate;
            // Smoothed over about two windows: keyframes make single windows jump.
            Volatile.Write(ref state.Bitrate, previous == 0 ? sample : (previous + sample) / 2);
            state.WindowStart = now;
            state.WindowBytes = 0;
        }
    }

    /// <summary>The SSRC our RTCP feedback is sent from (RFC 4585 §6.1: any SSRC of the sender; we use a fixed one).</summary>
    internal const uint RelaySsrc = 1;

    private bool IsKeyFrame(ReadOnlySpan<byte> payload) => _videoCodec switch
    {
        VideoCodec.Vp8 => Vp8PayloadDescriptor.IsKeyframePayload(payload),
        VideoCodec.H264 => H264Payload.IsKeyframe(payload),
        _ => false,
    };

    /// <summary>The codecs whose keyframes the relay can tell (looked up once, not by name on every packet).</summary>
    private enum VideoCodec
    {
        None,
        Vp8,
        H264,
        Other,
    }

    /// <summary>One encoding's state (fields, so they can be read and written with <see cref="Volatile"/> and <see cref="Interlocked"/>).</summary>
    private sealed class EncodingState
    {
        public uint Ssrc;
        public int PictureSize;
        public long LastKeyFrameRequest;
        public long LastPacket;
        public long WindowStart;
        public long WindowBytes;
        public long Bitrate;
        public long LastNackCheck;
        public ReceiveStatistics? Statistics;
        public RetransmissionBuffer? Retransmissions;
    }
}
