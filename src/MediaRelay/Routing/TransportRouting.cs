using System.Collections.Concurrent;
using System.Text;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The routing side of one peer transport: binds incoming RTP to its producer (by SSRC, then MID, then
/// RID — RFC 9143 order, webrtc.md §4), hands RTCP feedback to the consumer it names, and numbers the
/// transport-wide sequence of everything this transport sends.
/// </summary>
internal sealed class TransportRouting : IWebRtcTransportListener, ISubscriberTransport
{
    private readonly ConcurrentDictionary<uint, Binding> _bySsrc = new();
    private readonly ConcurrentDictionary<uint, Consumer> _consumersBySsrc = new();
    private readonly ConcurrentDictionary<string, Producer> _producersByMid = new(StringComparer.Ordinal);
    private int _transportSequence;

    public TransportRouting(WebRtcTransport transport)
    {
        Transport = transport;
        transport.SetListener(this);
    }

    public WebRtcTransport Transport { get; }

    /// <summary>Raised once when the transport connects (DTLS done).</summary>
    public event Action<TransportRouting>? Connected;

    /// <summary>Raised once when the transport closes.</summary>
    public event Action<TransportRouting>? Closed;

    public long RtpPacketsReceived { get; private set; }

    public void AddProducer(Producer producer)
    {
        _producersByMid[producer.Parameters.Mid] = producer;
        for (var i = 0; i < producer.Parameters.Encodings.Count; i++)
        {
            var encoding = producer.Parameters.Encodings[i];
            if (encoding.Ssrc is { } ssrc)
            {
                _bySsrc[ssrc] = new Binding(producer, i, false);
            }

            if (encoding.RtxSsrc is { } rtx)
            {
                _bySsrc[rtx] = new Binding(producer, i, true);
            }
        }
    }

    public void RemoveProducer(Producer producer)
    {
        _producersByMid.TryRemove(new KeyValuePair<string, Producer>(producer.Parameters.Mid, producer));
        foreach (var (ssrc, binding) in _bySsrc)
        {
            if (ReferenceEquals(binding.Producer, producer))
            {
                _bySsrc.TryRemove(ssrc, out _);
            }
        }
    }

    public void AddConsumer(Consumer consumer) => _consumersBySsrc[consumer.Ssrc] = consumer;

    public void RemoveConsumer(Consumer consumer) => _consumersBySsrc.TryRemove(consumer.Ssrc, out _);

    public IEnumerable<Consumer> Consumers => _consumersBySsrc.Values;

    public bool IsConnected => Transport.State == WebRtcTransportState.Connected;

    public bool SendRtp(Span<byte> buffer, int length) => Transport.SendRtp(buffer, length);

    public ushort NextTransportSequence() => (ushort)Interlocked.Increment(ref _transportSequence);

    public void OnRtp(WebRtcTransport transport, Span<byte> packet)
    {
        if (!RtpHeader.TryRead(packet, out var header))
        {
            RelayMetrics.DroppedMalformed.Inc();
            return;
        }

        RtpPacketsReceived++;
        if (!_bySsrc.TryGetValue(header.Ssrc, out var binding) && !TryBind(header, out binding))
        {
            RelayMetrics.DroppedUnknownSsrc.Inc();
            return;
        }

        if (binding.IsRtx)
        {
            // Retransmissions repair the publisher → relay hop; forwarding them needs the RTX machinery (quality work).
            return;
        }

        binding.Producer.OnRtp(packet, header, binding.Encoding);
    }

    public void OnRtcp(WebRtcTransport transport, Span<byte> packet)
    {
        foreach (var rtcp in new RtcpPacketEnumerator(packet))
        {
            switch (rtcp.PacketType)
            {
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

        binding = new Binding(producer, encodingIndex, isRtx);
        _bySsrc[header.Ssrc] = binding;
        return true;
    }

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

    private sealed record Binding(Producer Producer, int Encoding, bool IsRtx);
}
