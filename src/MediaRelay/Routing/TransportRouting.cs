using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The routing side of one peer transport: binds incoming RTP to its producer (by SSRC, then MID, then
/// RID, the order of RFC 8843 §9.2 and RFC 8852), hands RTCP feedback to the consumer it names, and numbers the
/// transport-wide sequence of everything this transport sends. As the receiver of a publisher it sends
/// transport-wide congestion feedback, NACKs (through its producers) and Receiver Reports, and restores RTX
/// repairs into their original streams; as the sender to a subscriber it answers NACKs, sends Sender Reports
/// and lets the subscriber's bandwidth estimate (REMB) choose its simulcast layers.
/// </summary>
internal sealed class TransportRouting : SubscriberTransport, IWebRtcTransportListener
{
    private readonly ConcurrentDictionary<uint, Binding> _bySsrc = new();
    private readonly ConcurrentDictionary<uint, Consumer> _consumersBySsrc = new();
    private readonly ConcurrentDictionary<string, Producer> _producersByMid = new(StringComparer.Ordinal);
    private readonly Lock _feedbackLock = new();

    // The two bindings packets last came with (a publisher's audio and video, usually): most packets find theirs here,
    // in fields of this object, instead of in three more objects of the dictionary. A binding taken out of the
    // dictionary is marked stale, so one read here just before it was taken out is not used after.
    private Binding? _recent;
    private Binding? _recentBefore;

    // Made with the first transport-wide sequence number (under _feedbackLock): a subscribe connection never gets one,
    // and the recorder and its packet are 14 KiB.
    private TransportWideFeedbackRecorder? _feedback;
    private byte[]? _feedbackBuffer;
    private int _transportSequence;
    private int _transportWideCcId;
    private uint _lastMediaSsrc;
    private long _rtcpPacketsReceived;

    public TransportRouting(WebRtcTransport transport, RoutingClock? clock = null)
    {
        Transport = transport;
        Clock = clock ?? RoutingClock.System;
        transport.SetListener(this);
    }

    public WebRtcTransport Transport { get; }

    /// <summary>The relay's clock, for this transport's producers and consumers too.</summary>
    public RoutingClock Clock { get; }

    /// <summary>The subscriber's bandwidth estimate and the simulcast layers it chooses for this transport's consumers.</summary>
    public BandwidthAllocator Allocator { get; } = new();

    /// <summary>Raised once when the transport connects (DTLS done).</summary>
    public event Action<TransportRouting>? Connected;

    /// <summary>Raised once when the transport closes.</summary>
    public event Action<TransportRouting>? Closed;

    public long RtpPacketsReceived { get; private set; }

    /// <summary>RTCP (compound) packets handled, after they were acted on: a test waits on it for its feedback to have arrived.</summary>
    public long RtcpPacketsReceived => Volatile.Read(ref _rtcpPacketsReceived);

    public void AddProducer(Producer producer)
    {
        _producersByMid[producer.Parameters.Mid] = producer;
        if (producer.Parameters.Extensions.TransportWideCc > 0)
        {
            // BUNDLE: one transport-wide sequence for all m-lines, under one id (Chrome uses the same id on every m-line).
            _transportWideCcId = producer.Parameters.Extensions.TransportWideCc;
        }

        for (var i = 0; i < producer.Parameters.Encodings.Count; i++)
        {
            var encoding = producer.Parameters.Encodings[i];
            if (encoding.Ssrc is { } ssrc)
            {
                Bind(new Binding(ssrc, producer, i, false));
            }

            if (encoding.RtxSsrc is { } rtx)
            {
                Bind(new Binding(rtx, producer, i, true));
            }
        }
    }

    public void RemoveProducer(Producer producer)
    {
        _producersByMid.TryRemove(new KeyValuePair<string, Producer>(producer.Parameters.Mid, producer));
        foreach (var (ssrc, binding) in _bySsrc)
        {
            if (ReferenceEquals(binding.Producer, producer) && _bySsrc.TryRemove(new KeyValuePair<uint, Binding>(ssrc, binding)))
            {
                binding.IsStale = true;
            }
        }
    }

    public void AddConsumer(Consumer consumer) => _consumersBySsrc[consumer.Ssrc] = consumer;

    public void RemoveConsumer(Consumer consumer) => _consumersBySsrc.TryRemove(consumer.Ssrc, out _);

    public IEnumerable<Consumer> Consumers => _consumersBySsrc.Values;

    public IEnumerable<Producer> Producers => _producersByMid.Values;

    public override bool IsConnected => Transport.State == WebRtcTransportState.Connected;

    public override bool SendRtp(Span<byte> buffer, int length) => Transport.SendRtp(buffer, length);

    public override ushort NextTransportSequence() => (ushort)Interlocked.Increment(ref _transportSequence);

    public void OnRtp(WebRtcTransport transport, Span<byte> packet)
    {
        if (!RtpHeader.TryRead(packet, out var header))
        {
            RelayMetrics.DroppedMalformed.Inc();
            return;
        }

        Route(packet, header);
        RtpPacketsReceived++; // once handled: a test on a fake clock waits for it before it moves the clock on
    }

    private void Route(Span<byte> packet, in RtpHeader header)
    {
        var id = _transportWideCcId;
        if (id > 0 && header.TryGetExtension((byte)id, out var transportSequence) && transportSequence.Length == 2)
        {
            // Every packet counts for congestion control, padding probes and packets of unknown streams too.
            RecordArrival(BinaryPrimitives.ReadUInt16BigEndian(transportSequence), header.Ssrc);
        }

        var binding = Recent(header.Ssrc);
        if (binding is null)
        {
            if (!_bySsrc.TryGetValue(header.Ssrc, out binding) && !TryBind(header, out binding))
            {
                RelayMetrics.DroppedUnknownSsrc.Inc();
                return;
            }

            _recentBefore = _recent;
            _recent = binding;
        }

        if (binding.IsRtx)
        {
            RestoreRepair(packet, header, binding);
            return;
        }

        binding.Producer.OnRtp(packet, header, binding.Encoding);
    }

    /// <summary>
    /// Once a second (housekeeping): a Sender Report for every SSRC we send this subscriber, a Receiver Report
    /// (RFC 3550 §6.4.2) for every stream the publisher sends us, how long its streams keep packets for repairs, and a
    /// look at the subscriber's layers.
    /// </summary>
    public void OnHousekeeping(DateTimeOffset now)
    {
        // Feedback is sent as packets arrive; this reports the tail of a burst that no later packet flushed.
        lock (_feedbackLock)
        {
            if (_feedback is { } feedback && _feedbackBuffer is { } buffer)
            {
                var length = feedback.WriteFeedback(buffer, Producer.RelaySsrc, _lastMediaSsrc, Clock.Now);
                if (length > 0 && Transport.SendRtcp(buffer, length))
                {
                    RelayMetrics.TransportFeedbackSent.Inc();
                }
            }
        }

        Span<byte> report = stackalloc byte[(2 * 52) + (31 * ReportBlock.Size) + 8 + WebRtcTransport.MaxProtectionOverhead];
        foreach (var consumer in _consumersBySsrc.Values)
        {
            var length = consumer.WriteSenderReport(report, now);
            if (length > 0)
            {
                Transport.SendRtcp(report, length);
            }
        }

        Span<ReportBlock> blocks = stackalloc ReportBlock[31];
        var count = 0;
        var timestamp = Clock.Now;
        foreach (var producer in _producersByMid.Values)
        {
            producer.UpdateRepairWindow();
            for (var i = 0; i < producer.EncodingCount && count < blocks.Length; i++)
            {
                if (producer.GetStatistics(i) is { } statistics && statistics.TryGetReportBlock(timestamp, out var block))
                {
                    blocks[count++] = block;
                }
            }
        }

        if (count > 0)
        {
            var length = ReceiverReport.Write(report, Producer.RelaySsrc, blocks[..count]);
            Transport.SendRtcp(report, length);
        }

        if (!_consumersBySsrc.IsEmpty)
        {
            Allocator.Allocate(_consumersBySsrc.Values, timestamp, decreased: false);
            foreach (var consumer in _consumersBySsrc.Values)
            {
                consumer.UpdatePlayoutDelay(timestamp);
            }
        }
    }

    public void OnRtcp(WebRtcTransport transport, Span<byte> packet)
    {
        HandleRtcp(packet);
        Interlocked.Increment(ref _rtcpPacketsReceived);
    }

    private void HandleRtcp(Span<byte> packet)
    {
        foreach (var rtcp in new RtcpPacketEnumerator(packet))
        {
            switch (rtcp.PacketType)
            {
                case RtcpPacketType.TransportFeedback when rtcp.Count == RtcpPacketType.FmtGenericNack && GenericNack.TryRead(rtcp.Packet, out var nack):
                    RelayMetrics.NacksReceived.Inc();
                    if (_consumersBySsrc.TryGetValue(nack.MediaSsrc, out var nacked))
                    {
                        foreach (var sequence in nack.LostSequenceNumbers)
                        {
                            nacked.Retransmit(sequence);
                        }

                        if (nacked.TakeFailedClimb() is var from and >= 0)
                        {
                            Allocator.OnClimbFailed(nacked, from, Clock.Now);
                        }
                    }

                    break;
                case RtcpPacketType.PayloadFeedback when rtcp.Count == RtcpPacketType.FmtApplicationLayerFeedback && ReceiverEstimatedMaxBitrate.TryRead(rtcp.Packet, out var remb):
                    if (!_consumersBySsrc.IsEmpty)
                    {
                        var decreased = Allocator.OnEstimate((long)Math.Min(remb.Bitrate, long.MaxValue), Clock.Now);
                        Allocator.Allocate(_consumersBySsrc.Values, Clock.Now, decreased);
                    }

                    break;
                case RtcpPacketType.ReceiverReport when ReceiverReport.TryRead(rtcp.Packet, out var rr):
                    LossWindow? video = null;
                    var now = Clock.Now;
                    for (var i = 0; i < rr.ReportCount; i++)
                    {
                        var block = rr.GetReportBlock(i);
                        if (_consumersBySsrc.TryGetValue(block.Ssrc, out var reportedOn))
                        {
                            reportedOn.OnReceiverReport(block, Clock.UtcNow);
                            if (reportedOn.Parameters.Kind == MediaKind.Video && reportedOn.CloseLossWindow(block, now) is { } window)
                            {
                                // Several video streams: the worst loss, what arrived of all, from the earliest start.
                                video = video is { } seen
                                    ? new LossWindow(Math.Max(seen.Loss, window.Loss), seen.ReceivedBitrate + window.ReceivedBitrate, Math.Min(seen.Start, window.Start))
                                    : window;
                            }
                        }
                    }

                    if (video is { } closed)
                    {
                        Allocator.Allocate(_consumersBySsrc.Values, now, Allocator.OnLoss(closed, now));
                    }

                    break;
                case RtcpPacketType.SenderReport when SenderReport.TryRead(rtcp.Packet, out var sr):
                    if (_bySsrc.TryGetValue(sr.Ssrc, out var reported) && !reported.IsRtx)
                    {
                        reported.Producer.OnSenderReport(sr.Ssrc, sr.NtpTimestamp, Clock.Now);
                    }

                    break;
                case RtcpPacketType.PayloadFeedback when rtcp.Count == RtcpPacketType.FmtPictureLossIndication && PictureLossIndication.TryRead(rtcp.Packet, out var pli):
                    KeyFrameRequested(pli.MediaSsrc);
                    break;
                case RtcpPacketType.PayloadFeedback when rtcp.Count == RtcpPacketType.FmtFullIntraRequest && FullIntraRequest.TryRead(rtcp.Packet, out var fir):
                    for (var i = 0; i < fir.EntryCount; i++)
                    {
                        KeyFrameRequested(fir.GetSsrc(i));
                    }

                    break;
            }
        }
    }

    public void OnConnected(WebRtcTransport transport) => Connected?.Invoke(this);

    public void OnClosed(WebRtcTransport transport) => Closed?.Invoke(this);

    private void RecordArrival(ushort transportSequence, uint ssrc)
    {
        var now = Clock.Now;
        lock (_feedbackLock)
        {
            var feedback = _feedback ??= new TransportWideFeedbackRecorder();
            var buffer = _feedbackBuffer ??= new byte[1500 + WebRtcTransport.MaxProtectionOverhead];
            feedback.OnPacket(transportSequence, now);
            if (ssrc > 1)
            {
                _lastMediaSsrc = ssrc;
            }

            if (!feedback.IsDue(now))
            {
                return;
            }

            var length = feedback.WriteFeedback(buffer, Producer.RelaySsrc, _lastMediaSsrc, now);
            if (length > 0 && Transport.SendRtcp(buffer, length))
            {
                RelayMetrics.TransportFeedbackSent.Inc();
            }
        }
    }

    /// <summary>
    /// An RTX packet (RFC 4588 §4): the original sequence number is the first two payload bytes. Restored in place into
    /// the packet it repairs (the media SSRC of its encoding, the codec's payload type, the original sequence number) and
    /// handed to the producer like a late arrival: it fills the gap we NACKed, and subscribers get it in their numbering.
    /// Padding-only RTX packets (bandwidth probes) end here.
    /// </summary>
    private static void RestoreRepair(Span<byte> packet, in RtpHeader header, Binding binding)
    {
        var producer = binding.Producer;
        var ssrc = producer.GetEncodingSsrc(binding.Encoding);
        if (header.PayloadLength < 2 || ssrc == 0)
        {
            return;
        }

        var headerLength = header.HeaderLength;
        var originalSequence = BinaryPrimitives.ReadUInt16BigEndian(packet[headerLength..]);
        packet[..headerLength].CopyTo(packet[2..]);
        var restored = packet[2..];
        RtpHeaderRewriter.SetSsrc(restored, ssrc);
        RtpHeaderRewriter.SetSequenceNumber(restored, originalSequence);
        RtpHeaderRewriter.SetPayloadType(restored, (byte)producer.Parameters.Codec.PayloadType);
        if (RtpHeader.TryRead(restored, out var repaired))
        {
            producer.OnRtp(restored, repaired, binding.Encoding, isRepair: true);
        }
    }

    private void KeyFrameRequested(uint mediaSsrc)
    {
        if (_consumersBySsrc.TryGetValue(mediaSsrc, out var consumer))
        {
            consumer.OnKeyFrameRequest();
        }
    }

    /// <summary>
    /// First packets of a stream the SDP did not list by SSRC (simulcast, Firefox without a=ssrc): MID names the
    /// producer, RID the encoding, repaired RID an RTX stream. Chrome stops sending them once the SSRC is
    /// acknowledged, so the binding is kept for the SSRC's lifetime. Without MID (GStreamer has no extmap)
    /// a transport with a single producer of the packet's payload type takes it.
    /// </summary>
    private bool TryBind(in RtpHeader header, out Binding binding)
    {
        binding = default!;
        Producer? producer = null;
        foreach (var candidate in _producersByMid.Values)
        {
            var ids = candidate.Parameters.Extensions;
            if (ids.Mid > 0 && header.TryGetExtension((byte)ids.Mid, out var mid) && Matches(mid, candidate.Parameters.Mid))
            {
                producer = candidate;
                break;
            }
        }

        producer ??= SingleProducerWithPayloadType(header.PayloadType);
        if (producer is null)
        {
            return false;
        }

        var parameters = producer.Parameters;
        var encodingIndex = 0;
        var isRtx = parameters.Codec.RtxPayloadType == header.PayloadType;
        if (parameters.IsSimulcast)
        {
            var ridId = isRtx ? parameters.Extensions.RepairedRtpStreamId : parameters.Extensions.RtpStreamId;
            if (ridId == 0 || !header.TryGetExtension((byte)ridId, out var rid))
            {
                return false;
            }

            encodingIndex = -1;
            for (var i = 0; i < parameters.Encodings.Count; i++)
            {
                if (Matches(rid, parameters.Encodings[i].Rid))
                {
                    encodingIndex = i;
                    break;
                }
            }

            if (encodingIndex < 0)
            {
                return false;
            }
        }

        if (!isRtx)
        {
            producer.SetEncodingSsrc(encodingIndex, header.Ssrc);
        }

        binding = new Binding(header.Ssrc, producer, encodingIndex, isRtx);
        Bind(binding);
        return true;
    }

    /// <summary>The binding of <paramref name="ssrc"/> if one of the last two packets' came with it and it is still bound.</summary>
    private Binding? Recent(uint ssrc)
    {
        var binding = _recent;
        if (binding is not null && binding.Ssrc == ssrc && !binding.IsStale)
        {
            return binding;
        }

        binding = _recentBefore;
        return binding is not null && binding.Ssrc == ssrc && !binding.IsStale ? binding : null;
    }

    /// <summary>Binds an SSRC, marking the binding it replaces stale.</summary>
    private void Bind(Binding binding) =>
        _bySsrc.AddOrUpdate(binding.Ssrc, static (_, added) => added, static (_, old, added) =>
        {
            if (!ReferenceEquals(old, added))
            {
                old.IsStale = true;
            }

            return added;
        }, binding);

    private Producer? SingleProducerWithPayloadType(byte payloadType)
    {
        Producer? found = null;
        foreach (var producer in _producersByMid.Values)
        {
            if (producer.Parameters.Codec.PayloadType == payloadType || producer.Parameters.Codec.RtxPayloadType == payloadType)
            {
                if (found is not null || producer.Parameters.Extensions.Mid > 0)
                {
                    return null;
                }

                found = producer;
            }
        }

        return found;
    }

    private static bool Matches(ReadOnlySpan<byte> value, string? text)
    {
        if (text is null || value.Length != text.Length)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[64];
        var count = Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, 64)), expected);
        return value.SequenceEqual(expected[..count]);
    }

    /// <summary>Which producer and encoding packets of an SSRC belong to, and whether they are its RTX repairs.</summary>
    private sealed class Binding(uint ssrc, Producer producer, int encoding, bool isRtx)
    {
        public uint Ssrc { get; } = ssrc;

        public Producer Producer { get; } = producer;

        public int Encoding { get; } = encoding;

        public bool IsRtx { get; } = isRtx;

        /// <summary>Set once the binding is no longer in the dictionary (replaced or its producer removed).</summary>
        public bool IsStale
        {
            get => Volatile.Read(ref _stale);
            set => Volatile.Write(ref _stale, value);
        }

        private bool _stale;
    }
}
