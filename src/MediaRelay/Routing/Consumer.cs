using System.Buffers;
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
internal sealed class Consumer
{
    private readonly byte[] _extensionIdMap = new byte[256];
    private readonly Lock _lock = new();
    private readonly ISubscriberTransport _transport;
    private bool _started;
    private bool _needKeyFrame;
    private ushort _sequenceOffset;
    private uint _timestampOffset;
    private ushort _lastSequence;
    private uint _lastTimestamp;
    private long _lastSentTimestamp;
    private int _targetEncoding;

    public Consumer(string id, ConsumerParameters parameters, Producer producer, ISubscriberTransport transport, IMediaGate gate)
    {
        Id = id;
        Parameters = parameters;
        Producer = producer;
        _transport = transport;
        Gate = gate;
        _needKeyFrame = parameters.Kind == MediaKind.Video;
        var from = producer.Parameters.Extensions;
        var to = parameters.Extensions;
        Map(from.Mid, to.Mid);
        Map(from.AbsSendTime, to.AbsSendTime);
        Map(from.TransportWideCc, to.TransportWideCc);
        Map(from.AudioLevel, to.AudioLevel);
        // rid/repaired-rid describe the publisher's encodings; a subscriber receives one plain stream.
        _lastSequence = (ushort)Random.Shared.Next(0, 0x8000);
        _lastTimestamp = (uint)Random.Shared.Next();
    }

    public string Id { get; }

    public ConsumerParameters Parameters { get; }

    public Producer Producer { get; }

    public IMediaGate Gate { get; }

    public uint Ssrc => Parameters.Ssrc;

    public bool IsClosed { get; private set; }

    public long PacketsSent { get; private set; }

    public long OctetsSent { get; private set; }

    /// <summary><see cref="Stopwatch"/> timestamp of the first packet sent after the gate last opened (0 before).</summary>
    public long FirstPacketTimestamp { get; private set; }

    /// <summary>Called (under the consumer's lock, on a receive thread) when the first packet after a (re)start goes out.</summary>
    public Action<Consumer>? FirstPacketAfterStart { get; set; }

    /// <summary>Which simulcast encoding this consumer takes (0 = the first offered).</summary>
    public int TargetEncoding
    {
        get => Volatile.Read(ref _targetEncoding);
        set
        {
            lock (_lock)
            {
                if (value != _targetEncoding)
                {
                    _targetEncoding = value;
                    _needKeyFrame = Parameters.Kind == MediaKind.Video;
                }
            }

            Producer.RequestKeyFrame();
        }
    }

    public void Forward(ReadOnlySpan<byte> packet, in RtpHeader header, int encoding, bool isKeyFrame)
    {
        if (IsClosed || encoding != Volatile.Read(ref _targetEncoding))
        {
            return;
        }

        if (!Gate.IsOpen)
        {
            lock (_lock)
            {
                // Resume on a fresh keyframe with continuous numbering once the gate opens again.
                _needKeyFrame = Parameters.Kind == MediaKind.Video;
                _started = false;
                FirstPacketTimestamp = 0;
            }

            RelayMetrics.DroppedNotAdmitted.Inc();
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(packet.Length + WebRtcTransport.MaxProtectionOverhead);
        try
        {
            int length;
            lock (_lock)
            {
                if (_needKeyFrame)
                {
                    if (!isKeyFrame)
                    {
                        Producer.RequestKeyFrame();
                        return;
                    }

                    _needKeyFrame = false;
                }

                if (!_started)
                {
                    // Continue from the last number we sent, so a restart looks like a gap-free stream.
                    _sequenceOffset = (ushort)(_lastSequence + 1 - header.SequenceNumber);
                    var elapsed = _lastSentTimestamp == 0 ? 0 : Stopwatch.GetElapsedTime(_lastSentTimestamp).TotalSeconds;
                    var advance = (uint)Math.Max(1, elapsed * Parameters.Codec.ClockRate);
                    _timestampOffset = _lastTimestamp + advance - header.Timestamp;
                    _started = true;
                    FirstPacketTimestamp = Stopwatch.GetTimestamp();
                    FirstPacketAfterStart?.Invoke(this);
                }

                var sequence = (ushort)(header.SequenceNumber + _sequenceOffset);
                var timestamp = header.Timestamp + _timestampOffset;
                if ((short)(sequence - _lastSequence) > 0)
                {
                    _lastSequence = sequence;
                    _lastTimestamp = timestamp;
                    _lastSentTimestamp = Stopwatch.GetTimestamp();
                }

                packet.CopyTo(buffer);
                length = packet.Length;
                var span = buffer.AsSpan(0, length);
                RtpHeaderRewriter.SetSsrc(span, Parameters.Ssrc);
                RtpHeaderRewriter.SetPayloadType(span, (byte)Parameters.Codec.PayloadType);
                RtpHeaderRewriter.SetSequenceNumber(span, sequence);
                RtpHeaderRewriter.SetTimestamp(span, timestamp);
                if (header.HasExtension)
                {
                    RtpHeaderRewriter.RewriteExtensionIds(span, _extensionIdMap);
                    SetTransportExtensions(span);
                }

                PacketsSent++;
                OctetsSent += header.PayloadLength;
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

    /// <summary>A PLI or FIR from the subscriber for our SSRC.</summary>
    public void OnKeyFrameRequest() => Producer.RequestKeyFrame();

    /// <summary>
    /// RFC 3550 §6.4.1 Sender Report for our SSRC, so the browser can map RTP time to wall-clock time (lip sync).
    /// Returns the bytes written, 0 when nothing was sent yet.
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
            return SenderReport.Write(destination, Parameters.Ssrc, NtpTime.From(now), rtpNow, (uint)PacketsSent, (uint)OctetsSent, default);
        }
    }

    public void OnProducerClosed() => IsClosed = true;

    public void Close()
    {
        IsClosed = true;
        Producer.RemoveConsumer(this);
    }

    private void Map(int from, int to)
    {
        if (from is > 0 and < 256 && to is > 0 and < 256)
        {
            _extensionIdMap[from] = (byte)to;
        }
    }

    private void SetTransportExtensions(Span<byte> packet)
    {
        var ids = Parameters.Extensions;
        if (ids.TransportWideCc > 0)
        {
            RtpHeaderRewriter.TrySetTransportSequenceNumber(packet, (byte)ids.TransportWideCc, _transport.NextTransportSequence());
        }

        if (ids.AbsSendTime > 0)
        {
            RtpHeaderRewriter.TrySetAbsSendTime(packet, (byte)ids.AbsSendTime, AbsSendTime.Now());
        }
    }
}

/// <summary>What a consumer needs of the subscriber's transport.</summary>
internal interface ISubscriberTransport
{
    bool SendRtp(Span<byte> buffer, int length);

    /// <summary>The next transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions §2) of this transport.</summary>
    ushort NextTransportSequence();
}

/// <summary>Wall-clock conversions for RTP header extensions and RTCP.</summary>
internal static class AbsSendTime
{
    /// <summary>abs-send-time: 24-bit 6.18 fixed-point seconds (webrtc.md §4).</summary>
    public static uint Now()
    {
        var ticks = Stopwatch.GetTimestamp();
        var seconds = (double)ticks / Stopwatch.Frequency;
        return (uint)(seconds * (1 << 18)) & 0x00FF_FFFF;
    }
}

/// <summary>64-bit NTP timestamps (RFC 3550 §4): seconds since 1900 in the high word, fraction in the low word.</summary>
internal static class NtpTime
{
    private static readonly DateTimeOffset Epoch = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static ulong From(DateTimeOffset time)
    {
        var elapsed = time - Epoch;
        var seconds = (ulong)elapsed.Ticks / TimeSpan.TicksPerSecond;
        var fraction = (ulong)(elapsed.Ticks % TimeSpan.TicksPerSecond) * (1UL << 32) / TimeSpan.TicksPerSecond;
        return (seconds << 32) | fraction;
    }

    /// <summary>The middle 32 bits, as carried in report blocks' LSR field.</summary>
    public static uint Middle(ulong ntp) => (uint)(ntp >> 16);
}
