using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Benchmarks;

/// <summary>
/// The Opus route the forwarding benchmarks take: a producer of one audio stream (mid, abs-send-time and
/// transport-wide sequence extensions) and consumers that rewrite it with other ids, payload type and SSRC.
/// </summary>
internal static class AudioRoute
{
    private static readonly RtpCodec Opus = new(MediaKind.Audio, "opus", 111, 48000, 2);

    public static Producer Producer(string id, uint ssrc, WebRtcTransport transport)
    {
        var extensions = new HeaderExtensionIds { Mid = 4, AbsSendTime = 2, TransportWideCc = 3 };
        var parameters = new ProducerParameters("0", MediaKind.Audio, Opus, extensions, [new ProducerEncoding(null, ssrc, null)], "s", "t");
        return new Producer(id, parameters, transport, MediaGate.AlwaysOpen, new RetransmissionBlocks());
    }

    public static void AddConsumer(Producer producer, string id, uint ssrc, SubscriberTransport subscriber)
    {
        var parameters = new ConsumerParameters("0", MediaKind.Audio, Opus with { PayloadType = 100 }, new HeaderExtensionIds { Mid = 1, AbsSendTime = 5, TransportWideCc = 6 }, ssrc, null, "c", "s", "t");
        producer.AddConsumer(new Consumer(id, parameters, producer, subscriber, MediaGate.AlwaysOpen));
    }

    /// <summary>The producer's RTP header with its three extensions; its length.</summary>
    public static int WriteHeader(byte[] buffer, uint ssrc, ushort sequence, uint timestamp)
    {
        var writer = new RtpHeaderWriter(buffer, 111, sequence, timestamp, ssrc, marker: false);
        writer.AddOneByteExtension(4, [(byte)'0']);
        writer.AddOneByteExtension(2, [1, 2, 3]);
        writer.AddOneByteExtension(3, [0, 1]);
        return writer.Complete();
    }
}
