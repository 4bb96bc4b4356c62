using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>
/// The codecs the relay forwards (Opus; VP8 and H.264) and the feedback and header
/// extensions it understands. The relay never transcodes, so a publisher and its subscribers must
/// share the codec; VP8 is preferred because every browser has it.
/// </summary>
internal static class SupportedCodecs
{
    /// <summary>Video codecs in order of preference.</summary>
    public static readonly string[] VideoPreference = ["VP8", "H264"];

    public static readonly string[] FeedbackVideo = ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"];

    public static readonly string[] FeedbackAudio = ["transport-cc"];

    public static readonly string[] ExtensionsAudio =
    [
        SdpExtMap.MidUri,
        SdpExtMap.AbsSendTimeUri,
        SdpExtMap.TransportWideCcUri,
        SdpExtMap.AudioLevelUri,
    ];

    public static readonly string[] ExtensionsVideo =
    [
        SdpExtMap.MidUri,
        SdpExtMap.RtpStreamIdUri,
        SdpExtMap.RepairedRtpStreamIdUri,
        SdpExtMap.AbsSendTimeUri,
        SdpExtMap.TransportWideCcUri,
    ];

    /// <summary>Picks the codec of an offered m-line we can forward, with its RTX payload type; null when none fits.</summary>
    public static RtpCodec? Select(MediaDescription media)
    {
        if (string.Equals(media.Media, "audio", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var map in media.RtpMaps)
            {
                if (map.IsCodec("opus") && map.ClockRate == 48000)
                {
                    return new RtpCodec(MediaKind.Audio, "opus", map.PayloadType, 48000, 2, media.GetFmtp(map.PayloadType)?.Parameters);
                }
            }

            return null;
        }

        if (!string.Equals(media.Media, "video", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        foreach (var name in VideoPreference)
        {
            SdpRtpMap? best = null;
            foreach (var map in media.RtpMaps)
            {
                if (!map.IsCodec(name) || map.ClockRate != 90000)
                {
                    continue;
                }

                if (name == "H264" && !IsUsableH264(media.GetFmtp(map.PayloadType)))
                {
                    continue;
                }

                best = map;
                break;
            }

            if (best is not null)
            {
                return new RtpCodec(
                    MediaKind.Video,
                    name,
                    best.PayloadType,
                    90000,
                    null,
                    media.GetFmtp(best.PayloadType)?.Parameters,
                    media.FindRtxPayloadType(best.PayloadType));
            }
        }

        return null;
    }

    /// <summary>
    /// H.264 must be packetization-mode 1 (FU-A, RFC 6184 §6.3) and constrained baseline (profile-idc 42)
    /// so that every receiving browser can decode what another browser sends.
    /// </summary>
    private static bool IsUsableH264(SdpFmtp? fmtp)
    {
        if (fmtp is null)
        {
            return false;
        }

        return fmtp.TryGetParameter("packetization-mode", out var mode) && mode == "1"
            && fmtp.TryGetParameter("profile-level-id", out var profile) && profile.StartsWith("42", StringComparison.OrdinalIgnoreCase);
    }
}
