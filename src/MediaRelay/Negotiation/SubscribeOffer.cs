using System.Globalization;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>One m-line of a subscribe offer: a live consumer, or a slot whose consumer is gone (offered with port 0).</summary>
internal sealed record SubscribeSlot(string Mid, MediaKind Kind, ConsumerParameters? Consumer);

/// <summary>
/// The relay's offer for a subscriber's receive connection (README: Architecture; a publish and a subscribe connection per participant): one sendonly m-line
/// per consumer, in a stable order (a mid is never reused; a removed track keeps its slot with port 0, RFC 8843 §7.3.3,
/// except the first, which stays in the BUNDLE group as inactive: <see cref="InactiveBundleTag"/>),
/// our payload types and extension ids, and a=ssrc/msid so the browser can make a track per consumer.
/// The first offer says a=setup:actpass so the browser answers active and we stay the DTLS server; later
/// offers keep that role with a=setup:passive (RFC 8842 §5.5: the DTLS role does not change on renegotiation).
/// </summary>
internal static class SubscribeOffer
{
    public const int OpusPayloadType = 111;
    public const int Vp8PayloadType = 96;
    public const int H264PayloadType = 102;
    public const int Vp8RtxPayloadType = 97;
    public const int H264RtxPayloadType = 103;

    /// <summary>Our extension ids toward subscribers.</summary>
    public static readonly HeaderExtensionIds Extensions = new()
    {
        Mid = 1,
        AbsSendTime = 2,
        AudioLevel = 4,
        PlayoutDelay = 6,
    };

    /// <summary>The codec a subscriber gets for a producer's codec: the same codec under our payload type.</summary>
    public static RtpCodec CodecFor(RtpCodec producerCodec) => producerCodec.Kind == MediaKind.Audio
        ? new RtpCodec(MediaKind.Audio, "opus", OpusPayloadType, 48000, 2, "minptime=10;useinbandfec=1")
        : producerCodec.IsCodec("H264")
            ? new RtpCodec(MediaKind.Video, "H264", H264PayloadType, 90000, null, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", H264RtxPayloadType)
            : new RtpCodec(MediaKind.Video, "VP8", Vp8PayloadType, 90000, null, null, Vp8RtxPayloadType);

    /// <summary>
    /// Whether the subscriber's answer kept the RTX payload type of this consumer's m-line (RFC 4588 §8.6: RTX is used
    /// only when both sides list it), so retransmissions may go on the RTX SSRC.
    /// </summary>
    public static bool AcceptsRtx(SessionDescription answer, ConsumerParameters consumer)
    {
        if (consumer.Codec.RtxPayloadType is not { } rtx || consumer.RtxSsrc is null)
        {
            return false;
        }

        var media = answer.Media.FirstOrDefault(m => m.Mid == consumer.Mid);
        return media is not null && media.Port != 0 && media.FindRtxPayloadType(consumer.Codec.PayloadType) == rtx;
    }

    public static SessionDescription Create(IReadOnlyList<SubscribeSlot> slots, LocalTransportParameters local, bool firstOffer, ulong version)
    {
        var offer = PublishAnswer.NewSession();
        offer.Origin = offer.Origin with { SessionVersion = version };
        var bundled = new List<string>();
        for (var index = 0; index < slots.Count; index++)
        {
            var slot = slots[index];
            if (slot.Consumer is not { } consumer)
            {
                if (index == 0)
                {
                    offer.Media.Add(InactiveBundleTag(slot, local, firstOffer));
                    bundled.Add(slot.Mid);
                    continue;
                }

                offer.Media.Add(PublishAnswer.Closed(slot.Kind == MediaKind.Audio ? "audio" : "video", "UDP/TLS/RTP/SAVPF",
                    (slot.Kind == MediaKind.Audio ? OpusPayloadType : Vp8PayloadType).ToString(CultureInfo.InvariantCulture), slot.Mid));
                continue;
            }

            var media = PublishAnswer.NewMedia(
                consumer.Kind == MediaKind.Audio ? "audio" : "video",
                slot.Mid,
                consumer.Codec.RtxPayloadType is { } rtx
                    ? [consumer.Codec.PayloadType.ToString(CultureInfo.InvariantCulture), rtx.ToString(CultureInfo.InvariantCulture)]
                    : [consumer.Codec.PayloadType.ToString(CultureInfo.InvariantCulture)],
                local,
                firstOffer ? "actpass" : "passive",
                rtcpReducedSize: true);
            media.Direction = SdpDirection.SendOnly;
            PublishAnswer.AddCodec(media, consumer.Codec, consumer.Kind == MediaKind.Video ? ["nack", "nack pli", "ccm fir", "goog-remb"] : []);
            media.AddAttribute("extmap", string.Create(CultureInfo.InvariantCulture, $"{Extensions.Mid} {SdpExtMap.MidUri}"));
            media.AddAttribute("extmap", string.Create(CultureInfo.InvariantCulture, $"{Extensions.AbsSendTime} {SdpExtMap.AbsSendTimeUri}"));
            if (consumer.Kind == MediaKind.Audio)
            {
                media.AddAttribute("extmap", string.Create(CultureInfo.InvariantCulture, $"{Extensions.AudioLevel} {SdpExtMap.AudioLevelUri}"));
            }
            else
            {
                // Raised on lossy links so repairs arrive before their frame is due (PlayoutDelayPolicy).
                media.AddAttribute("extmap", string.Create(CultureInfo.InvariantCulture, $"{Extensions.PlayoutDelay} {SdpExtMap.PlayoutDelayUri}"));
            }

            PublishAnswer.AddSsrcLines(media, consumer);
            bundled.Add(slot.Mid);
            offer.Media.Add(media);
        }

        if (bundled.Count > 0)
        {
            offer.Attributes.Add(new SdpAttribute("group", "BUNDLE " + string.Join(' ', bundled)));
        }

        offer.Attributes.Add(new SdpAttribute("msid-semantic", " WMS *"));
        return offer;
    }

    /// <summary>
    /// The first m-line once its consumer is gone: kept in the BUNDLE group, inactive, instead of being rejected. It is the
    /// group's tagged m-line, which carries the transport (RFC 8843 §7.2), so it stays: rejecting it would leave an offer
    /// whose m-lines are all rejected when the subscriber's only other participant leaves, which Chromium (max-bundle)
    /// refuses ("max-bundle is used but no bundle group found") and after which it refuses every later offer too, so
    /// that participant's return would never reach the subscriber; and with others still there, it would move the tag.
    /// </summary>
    private static MediaDescription InactiveBundleTag(SubscribeSlot slot, LocalTransportParameters local, bool firstOffer)
    {
        var codec = slot.Kind == MediaKind.Audio
            ? CodecFor(new RtpCodec(MediaKind.Audio, "opus", OpusPayloadType, 48000, 2, null))
            : CodecFor(new RtpCodec(MediaKind.Video, "VP8", Vp8PayloadType, 90000, null, null));
        var media = PublishAnswer.NewMedia(
            slot.Kind == MediaKind.Audio ? "audio" : "video",
            slot.Mid,
            [codec.PayloadType.ToString(CultureInfo.InvariantCulture)],
            local,
            firstOffer ? "actpass" : "passive",
            rtcpReducedSize: true);
        media.Direction = SdpDirection.Inactive;
        PublishAnswer.AddCodec(media, codec with { RtxPayloadType = null }, []);
        return media;
    }

    /// <summary>Checks the browser's answer: it must keep every live m-line and carry its ICE and DTLS parameters.</summary>
    public static bool TryReadAnswer(SessionDescription answer, IReadOnlyList<SubscribeSlot> slots, out RemoteTransportParameters? remote, out string? error)
    {
        remote = null;
        if (answer.Media.Count != slots.Count)
        {
            error = $"The answer has {answer.Media.Count} m-lines for {slots.Count} offered.";
            return false;
        }

        if (!RemoteTransportParameters.TryRead(answer, out remote, out error))
        {
            return false;
        }

        if (remote!.Setup == "passive")
        {
            error = "The relay is the DTLS server; the answer must say a=setup:active.";
            return false;
        }

        return true;
    }
}
