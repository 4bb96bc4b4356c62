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
internal sealed class Consumer
{
    /// <summary>The largest extension block we write: room for every element we negotiate, at most 16 bytes each.</summary>
    private const int MaxExtensionBytes = 64;

    /// <summary>How much longer than the publisher's our header can be: a full extension block plus its 4-byte header.</summary>
    private const int MaxAddedHeaderBytes = MaxExtensionBytes + 4;

    private readonly byte[] _extensionIdMap = new byte[256];
    private readonly byte[] _mid;
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
    private int _producerGateGeneration;
    private int _subscriberGateGeneration;

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
        Map(from.AbsSendTime, to.AbsSendTime);
        Map(from.TransportWideCc, to.TransportWideCc);
        Map(from.AudioLevel, to.AudioLevel);
        _mid = System.Text.Encoding.ASCII.GetBytes(parameters.Mid);
        // MID is written from the subscriber's own m-line (WritePacket); rid/repaired-rid describe the
        // publisher's encodings, and a subscriber receives one plain stream.
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
                    _needKeyFrame = Parameters.Kind == MediaKind.Video;
                    FirstPacketTimestamp = 0;
                }

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
                    _producerGateGeneration = producerGeneration;
                    _subscriberGateGeneration = subscriberGeneration;
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

                length = WritePacket(packet, header, buffer, sequence, timestamp);
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

    /// <summary>
    /// A PLI or FIR from the subscriber for our SSRC. Ignored while the subscriber waits (R3): it receives nothing,
    /// so it has no picture to repair, and its requests must not make an admitted publisher's encoder work.
    /// </summary>
    public void OnKeyFrameRequest()
    {
        if (Gate.IsOpen && !IsClosed)
        {
            Producer.RequestKeyFrame();
        }
    }

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

    /// <summary>
    /// Writes the packet as this subscriber must see it: our SSRC, its payload type, our sequence and timestamp,
    /// then a header extension holding only what the subscriber negotiated, under its ids (RFC 8285 §5): the MID
    /// of the subscriber's m-line (the publisher's MID names another m-line of another session, RFC 9143 §15),
    /// the publisher's audio level, and abs-send-time and the transport-wide sequence, which are ours to set for
    /// this hop. The payload and padding follow unchanged. Returns the packet length.
    /// </summary>
    private int WritePacket(ReadOnlySpan<byte> packet, in RtpHeader header, Span<byte> destination, ushort sequence, uint timestamp)
    {
        var fixedLength = RtpHeader.FixedLength + (4 * header.CsrcCount);
        packet[..fixedLength].CopyTo(destination);
        destination[0] &= 0xEF; // X is set again below if any element is written
        RtpHeaderRewriter.SetSsrc(destination, Parameters.Ssrc);
        RtpHeaderRewriter.SetPayloadType(destination, (byte)Parameters.Codec.PayloadType);
        RtpHeaderRewriter.SetSequenceNumber(destination, sequence);
        RtpHeaderRewriter.SetTimestamp(destination, timestamp);

        var ids = Parameters.Extensions;
        var start = fixedLength + 4;
        var offset = start;
        if (ids.Mid is > 0 and <= 14 && _mid.Length is > 0 and <= 16)
        {
            offset = WriteElement(destination, offset, ids.Mid, _mid);
        }

        if (header.HasExtension)
        {
            foreach (var element in header.Extensions)
            {
                var to = _extensionIdMap[element.Id];
                if (to is 0 or > 14 || to == ids.Mid || element.Value.Length is 0 or > 16 || offset + 17 > start + MaxExtensionBytes)
                {
                    continue;
                }

                var valueOffset = offset + 1;
                offset = WriteElement(destination, offset, to, element.Value);
                if (to == ids.TransportWideCc && element.Value.Length == 2)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(destination[valueOffset..], _transport.NextTransportSequence());
                }
                else if (to == ids.AbsSendTime && element.Value.Length == 3)
                {
                    var now = AbsSendTime.Now();
                    destination[valueOffset] = (byte)(now >> 16);
                    destination[valueOffset + 1] = (byte)(now >> 8);
                    destination[valueOffset + 2] = (byte)now;
                }
            }
        }

        if (offset == start)
        {
            offset = fixedLength;
        }
        else
        {
            // RFC 8285 §4.2: one-byte form, padded with zero bytes to a 32-bit boundary.
            var padded = (offset + 3) & ~3;
            destination[offset..padded].Clear();
            offset = padded;
            destination[0] |= 0x10;
            BinaryPrimitives.WriteUInt16BigEndian(destination[fixedLength..], RtpHeaderExtensionEnumerator.OneByteProfile);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(fixedLength + 2)..], (ushort)((offset - start) / 4));
        }

        var rest = packet[header.HeaderLength..];
        rest.CopyTo(destination[offset..]);
        return offset + rest.Length;
    }

    private static int WriteElement(Span<byte> destination, int offset, int id, ReadOnlySpan<byte> value)
    {
        destination[offset] = (byte)((id << 4) | (value.Length - 1));
        value.CopyTo(destination[(offset + 1)..]);
        return offset + 1 + value.Length;
    }
}

/// <summary>What a consumer needs of the subscriber's transport.</summary>
internal interface ISubscriberTransport
{
    /// <summary>DTLS is done and SRTP keys are installed: packets sent now can be decrypted.</summary>
    bool IsConnected { get; }

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
