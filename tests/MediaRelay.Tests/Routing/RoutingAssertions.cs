using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.MediaRelay.Tests.Routing;

/// <summary>Checks of what a subscriber received from one publisher against what the subscribe offer promised.</summary>
internal static class RoutingAssertions
{
    /// <summary>The relay tracks in <paramref name="subscriber"/>'s subscription that carry <paramref name="publisher"/>'s media.</summary>
    public static (RelayTrack Audio, RelayTrack Video) TracksFrom(SyntheticPeer subscriber, SyntheticPeer publisher)
    {
        var tracks = subscriber.Subscription!.Tracks.Where(t => t.StreamId == publisher.Id).ToList();
        return (Assert.Single(tracks, t => t.Kind == MediaKind.Audio), Assert.Single(tracks, t => t.Kind == MediaKind.Video));
    }

    public static bool HasReceived(SyntheticPeer subscriber, SyntheticPeer publisher, int audio, int video)
    {
        if (subscriber.Subscription is null || !subscriber.Subscription.Tracks.Any(t => t.StreamId == publisher.Id))
        {
            return false;
        }

        var (audioTrack, videoTrack) = TracksFrom(subscriber, publisher);
        return subscriber.StreamOf(audioTrack.Ssrc).Count >= audio && subscriber.StreamOf(videoTrack.Ssrc).Count >= video;
    }

    /// <summary>
    /// Everything <paramref name="subscriber"/> received from <paramref name="publisher"/> is in the subscriber's numbering:
    /// the relay's SSRC and payload type from the offer, gap-free sequence numbers, timestamps spaced as sent, only the
    /// extensions the offer negotiated under its ids (MID naming the subscriber's m-line), payloads byte for byte; video
    /// starts on a keyframe.
    /// </summary>
    public static void AssertForwardedIntact(SyntheticPeer subscriber, SyntheticPeer publisher, bool checkTimestampSpacing = true)
    {
        var (audio, video) = TracksFrom(subscriber, publisher);
        AssertStream(subscriber, publisher, audio, publisher.AudioSsrc, SyntheticPeer.AudioTicksPerPacket, checkTimestampSpacing);
        AssertStream(subscriber, publisher, video, publisher.VideoSsrc, SyntheticPeer.VideoTicksPerFrame, checkTimestampSpacing);
        Assert.True(subscriber.StreamOf(video.Ssrc).Snapshot()[0].IsVp8KeyFrame, "video must start on a keyframe");
    }

    /// <summary>Sequence numbers step by exactly one from packet to packet (nothing is lost on loopback).</summary>
    public static void AssertContinuous(IReadOnlyList<ReceivedPacket> packets)
    {
        for (var i = 1; i < packets.Count; i++)
        {
            Assert.True((ushort)(packets[i - 1].Sequence + 1) == packets[i].Sequence, $"sequence {packets[i - 1].Sequence} is followed by {packets[i].Sequence} (packet {i})");
        }
    }

    private static void AssertStream(SyntheticPeer subscriber, SyntheticPeer publisher, RelayTrack track, uint publisherSsrc, uint ticks, bool checkTimestampSpacing)
    {
        Assert.NotEqual(publisherSsrc, track.Ssrc);
        var packets = subscriber.StreamOf(track.Ssrc).Snapshot();
        Assert.NotEmpty(packets);
        AssertContinuous(packets);
        var expectedIds = new HashSet<byte> { (byte)track.Extensions.Mid, (byte)track.Extensions.AbsSendTime };
        if (track.Kind == MediaKind.Audio)
        {
            expectedIds.Add((byte)track.Extensions.AudioLevel);
        }

        expectedIds.Remove(0);
        for (var i = 0; i < packets.Count; i++)
        {
            var packet = packets[i];
            Assert.Equal(track.Codec.PayloadType, packet.PayloadType);
            Assert.Equal(track.Mid, packet.ExtensionText(track.Extensions.Mid));
            Assert.Subset(expectedIds, packet.Extensions.Keys.ToHashSet());
            if (track.Kind == MediaKind.Audio)
            {
                Assert.Equal([0x80 | 40], packet.Extensions[(byte)track.Extensions.AudioLevel]);
            }

            var signature = SyntheticPeer.SignatureOf(packet.Payload);
            Assert.Equal(publisherSsrc, signature.Ssrc);
            Assert.True(publisher.SentPayloads.TryGetValue(signature, out var sent), "a payload the publisher never sent");
            Assert.Equal(sent, packet.Payload);
            if (checkTimestampSpacing && i > 0)
            {
                Assert.Equal(ticks, packet.Timestamp - packets[i - 1].Timestamp);
            }
        }
    }
}
