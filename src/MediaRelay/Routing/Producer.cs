using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// An incoming track of one publisher (one m-line; one stream per simulcast encoding). Fans each packet out
/// to its consumers and asks the publisher for keyframes on their behalf, coalesced (webrtc.md §4).
/// </summary>
internal sealed class Producer
{
    /// <summary>Keyframe requests closer together than this are merged into one (webrtc.md §5.9).</summary>
    private static readonly long KeyFrameRequestInterval = Stopwatch.Frequency / 4;

    private readonly WebRtcTransport _transport;
    private readonly uint[] _encodingSsrcs;
    private Consumer[] _consumers = [];
    private long _lastKeyFrameRequest;

    public Producer(string id, ProducerParameters parameters, WebRtcTransport transport, IMediaGate gate)
    {
        Id = id;
        Parameters = parameters;
        _transport = transport;
        Gate = gate;
        _encodingSsrcs = new uint[parameters.Encodings.Count];
        for (var i = 0; i < _encodingSsrcs.Length; i++)
        {
            _encodingSsrcs[i] = parameters.Encodings[i].Ssrc ?? 0;
        }
    }

    public string Id { get; }

    public ProducerParameters Parameters { get; }

    public MediaKind Kind => Parameters.Kind;

    public IMediaGate Gate { get; }

    public bool IsClosed { get; private set; }

    public long PacketsReceived { get; private set; }

    public IReadOnlyList<Consumer> Consumers => Volatile.Read(ref _consumers);

    /// <summary>The SSRC a simulcast encoding was seen with (learned from MID/RID on its first packets).</summary>
    public uint GetEncodingSsrc(int encoding) => Volatile.Read(ref _encodingSsrcs[encoding]);

    public void SetEncodingSsrc(int encoding, uint ssrc) => Volatile.Write(ref _encodingSsrcs[encoding], ssrc);

    public void AddConsumer(Consumer consumer)
    {
        lock (_encodingSsrcs)
        {
            _consumers = [.. _consumers, consumer];
        }

        RequestKeyFrame();
    }

    public void RemoveConsumer(Consumer consumer)
    {
        lock (_encodingSsrcs)
        {
            _consumers = Array.FindAll(_consumers, c => !ReferenceEquals(c, consumer));
        }
    }

    /// <summary>Hot path: one decrypted packet of encoding <paramref name="encoding"/>.</summary>
    public void OnRtp(Span<byte> packet, in RtpHeader header, int encoding)
    {
        PacketsReceived++;
        if (!Gate.IsOpen)
        {
            RelayMetrics.DroppedNotAdmitted.Inc();
            return;
        }

        var consumers = Volatile.Read(ref _consumers);
        if (consumers.Length == 0)
        {
            return;
        }

        var isKeyFrame = Kind == MediaKind.Video && IsKeyFrame(header.Payload);
        foreach (var consumer in consumers)
        {
            consumer.Forward(packet, header, encoding, isKeyFrame);
        }
    }

    /// <summary>Sends a PLI (RFC 4585 §6.3.1) for every encoding, at most once per interval; FIR-capable senders answer PLI too.</summary>
    public void RequestKeyFrame()
    {
        if (Kind != MediaKind.Video || IsClosed)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref _lastKeyFrameRequest);
        if (now - last < KeyFrameRequestInterval || Interlocked.CompareExchange(ref _lastKeyFrameRequest, now, last) != last)
        {
            return;
        }

        Span<byte> buffer = stackalloc byte[64];
        for (var i = 0; i < _encodingSsrcs.Length; i++)
        {
            var ssrc = GetEncodingSsrc(i);
            if (ssrc == 0)
            {
                continue;
            }

            var length = PictureLossIndication.Write(buffer, RelaySsrc, ssrc);
            _transport.SendRtcp(buffer, length);
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
    }

    /// <summary>The SSRC our RTCP feedback is sent from (RFC 4585 §6.1: any SSRC of the sender; we use a fixed one).</summary>
    internal const uint RelaySsrc = 1;

    private bool IsKeyFrame(ReadOnlySpan<byte> payload) =>
        Parameters.Codec.IsCodec("VP8") ? Vp8PayloadDescriptor.IsKeyframePayload(payload)
        : Parameters.Codec.IsCodec("H264") && H264Payload.IsKeyframe(payload);
}
