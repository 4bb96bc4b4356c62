using System.Globalization;
using System.Security.Cryptography;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Client;

/// <summary>
/// The browser's side of negotiation, for synthetic participants (tests and the load generator): a publish offer
/// shaped like Chrome's (unified plan, RFC 9429), reading the relay's answer, and answering the relay's subscribe
/// offer. Payload types and extension ids are Chrome's own numbers, which differ from the relay's toward
/// subscribers, so a relay that forgets to rewrite them is caught.
/// </summary>
internal static class ClientNegotiation
{
    public const int OpusPayloadType = 111;
    public const int Vp8PayloadType = 96;
    public const int Vp8RtxPayloadType = 97;
    public const string OpusFmtp = "minptime=10;useinbandfec=1";
    public const int H264PayloadType = 102;
    public const int H264RtxPayloadType = 103;
    public const string H264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

    /// <summary>Extension ids of our audio m-lines (Chrome's numbering).</summary>
    public static readonly HeaderExtensionIds AudioExtensions = new() { AudioLevel = 1, AbsSendTime = 2, TransportWideCc = 3, Mid = 4 };

    /// <summary>Extension ids of our video m-lines (Chrome's numbering).</summary>
    public static readonly HeaderExtensionIds VideoExtensions = new() { AbsSendTime = 2, TransportWideCc = 3, Mid = 4, RtpStreamId = 10, RepairedRtpStreamId = 11 };

    private static readonly string[] VideoFeedback = ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"];

    /// <summary>Our transport attributes: ICE credentials and certificate fingerprint; a lite relay needs no candidates of ours.</summary>
    public static LocalTransportParameters LocalParameters(IceCredentials ice, DtlsFingerprint fingerprint) =>
        new(ice, new SdpFingerprint(fingerprint.Algorithm, fingerprint.ToHex()), []);

    /// <summary>
    /// A publish offer for <paramref name="tracks"/>: BUNDLE, rtcp-mux, rtcp-rsize, <c>a=setup:actpass</c> (RFC 8842 §5.2:
    /// the offerer leaves the DTLS role to the answerer), one m-line per track. <paramref name="direction"/> is sendonly
    /// for a publish; sendrecv asks the connection test to send each track back.
    /// </summary>
    public static SessionDescription CreatePublishOffer(
        IReadOnlyList<ClientTrack> tracks,
        LocalTransportParameters local,
        string cname,
        string streamId,
        SdpDirection direction = SdpDirection.SendOnly,
        bool h264 = false)
    {
        ArgumentOutOfRangeException.ThrowIfZero(tracks.Count);
        var offer = NewSession();
        offer.Attributes.Add(new SdpAttribute("group", "BUNDLE " + string.Join(' ', tracks.Select(t => t.Mid))));
        offer.Attributes.Add(new SdpAttribute("extmap-allow-mixed"));
        offer.Attributes.Add(new SdpAttribute("msid-semantic", " WMS " + streamId));
        foreach (var track in tracks)
        {
            var audio = track.Kind == MediaKind.Audio;
            var (videoType, rtxType) = h264 ? (H264PayloadType, H264RtxPayloadType) : (Vp8PayloadType, Vp8RtxPayloadType);
            var formats = audio ? [OpusPayloadType] : new[] { videoType, rtxType };
            var media = NewMedia(audio ? "audio" : "video", 9, formats, track.Mid, local, "actpass");
            offer.Media.Add(media);
            var ids = audio ? AudioExtensions : VideoExtensions;
            AddExtMaps(media, ids, audio);
            media.Direction = direction;
            media.AddAttribute("msid", $"{streamId} {track.TrackId}");
            media.AddAttribute("rtcp-mux");
            media.AddAttribute("rtcp-rsize");
            if (audio)
            {
                media.AddAttribute("rtpmap", $"{OpusPayloadType} opus/48000/2");
                media.AddAttribute("rtcp-fb", $"{OpusPayloadType} transport-cc");
                media.AddAttribute("fmtp", $"{OpusPayloadType} {OpusFmtp}");
            }
            else
            {
                media.AddAttribute("rtpmap", h264 ? $"{videoType} H264/90000" : $"{videoType} VP8/90000");
                foreach (var feedback in VideoFeedback)
                {
                    media.AddAttribute("rtcp-fb", $"{videoType} {feedback}");
                }

                if (h264)
                {
                    media.AddAttribute("fmtp", $"{videoType} {H264Fmtp}");
                }

                media.AddAttribute("rtpmap", $"{rtxType} rtx/90000");
                media.AddAttribute("fmtp", $"{rtxType} apt={videoType}");
            }

            if (track.IsSimulcast)
            {
                // RFC 8853 §5.1 as Chrome writes it: the layers are named by rid; SSRCs are learnt from the packets.
                foreach (var rid in track.Rids)
                {
                    media.AddAttribute("rid", rid + " send");
                }

                media.AddAttribute("simulcast", "send " + string.Join(';', track.Rids));
                continue;
            }

            if (track.Ssrc is not { } ssrc)
            {
                throw new ArgumentException($"Track {track.Mid} has neither an SSRC nor rids.", nameof(tracks));
            }

            if (track.RtxSsrc is { } rtx)
            {
                media.AddAttribute("ssrc-group", Invariant($"FID {ssrc} {rtx}"));
            }

            foreach (var s in track.RtxSsrc is { } r ? new[] { ssrc, r } : [ssrc])
            {
                media.AddAttribute("ssrc", Invariant($"{s} cname:{cname}"));
                media.AddAttribute("ssrc", Invariant($"{s} msid:{streamId} {track.TrackId}"));
            }
        }

        return offer;
    }

    /// <summary>Reads the relay's answer to our publish offer: how to reach it, what it accepted, what it will send back.</summary>
    public static bool TryReadPublishAnswer(string answerSdp, out ClientPublishAnswer? answer, out string? error)
    {
        answer = null;
        if (!SessionDescription.TryParse(answerSdp, out var description))
        {
            error = "The answer is not valid SDP.";
            return false;
        }

        if (!RelayTransportParameters.TryRead(description!, out var relay, out error))
        {
            return false;
        }

        // RFC 5763 §5: the answerer picks the role; we can only be the DTLS client.
        if (relay!.Setup != "passive")
        {
            error = $"The relay answered a=setup:{relay.Setup}; it must be passive so that we are the DTLS client.";
            return false;
        }

        var accepted = description!.Media.Where(m => m.Port != 0 && m.Mid is not null).Select(m => m.Mid!).ToList();
        var returned = new List<RelayTrack>();
        foreach (var media in description.Media)
        {
            if (media.Port != 0 && media.Direction is SdpDirection.SendOnly or SdpDirection.SendRecv && TryReadTrack(media, out var track))
            {
                returned.Add(track!);
            }
        }

        answer = new ClientPublishAnswer(relay, accepted, returned);
        error = null;
        return true;
    }

    /// <summary>
    /// Answers the relay's subscribe offer as a browser would: every live m-line recvonly with the offered codec and the
    /// extensions we understand at the offered ids (RFC 8285 §6), the same mids in the same order, port 0 for slots the
    /// relay closed (RFC 3264 §6), <c>a=setup:active</c> (we are the DTLS client, RFC 5763 §5). Pass the same
    /// <paramref name="local"/> on every renegotiation: the connection and its ICE and DTLS state stay.
    /// </summary>
    public static bool TryCreateSubscribeAnswer(string offerSdp, LocalTransportParameters local, out ClientSubscribeAnswer? result, out string? error)
    {
        result = null;
        if (!SessionDescription.TryParse(offerSdp, out var offer))
        {
            error = "The offer is not valid SDP.";
            return false;
        }

        RelayTransportParameters? relay = null;
        var live = offer!.Media.Any(m => m.Port != 0);
        if (live && !RelayTransportParameters.TryRead(offer, out relay, out error))
        {
            return false;
        }

        var answer = NewSession();
        var tracks = new List<RelayTrack>();
        var rejected = new List<string>();
        var bundled = new List<string>();
        foreach (var offered in offer.Media)
        {
            var mid = offered.Mid;
            RelayTrack? track = null;
            if (mid is null || offered.Port == 0 || offered.Direction is not (SdpDirection.SendOnly or SdpDirection.SendRecv)
                || !PublishAnswer.IsRtpProtocol(offered.Protocol) || !TryReadTrack(offered, out track))
            {
                answer.Media.Add(PublishAnswer.Rejected(offered));
                if (mid is not null)
                {
                    rejected.Add(mid);
                }

                continue;
            }

            var codec = track!.Codec;
            // RTX (RFC 4588 §8.6) is accepted when offered: the relay then repairs our losses on its RTX SSRC.
            var media = NewMedia(offered.Media, 9, codec.RtxPayloadType is { } rtx ? [codec.PayloadType, rtx] : [codec.PayloadType], mid, local, "active");
            foreach (var ext in offered.ExtMaps)
            {
                if (IsKnownExtension(ext.Uri))
                {
                    media.AddAttribute("extmap", Invariant($"{ext.Id} {ext.Uri}"));
                }
            }

            media.Direction = SdpDirection.RecvOnly;
            media.AddAttribute("rtcp-mux");
            media.AddAttribute("rtcp-rsize");
            var channels = codec.Channels is { } c ? Invariant($"/{c}") : string.Empty;
            media.AddAttribute("rtpmap", Invariant($"{codec.PayloadType} {codec.Name}/{codec.ClockRate}{channels}"));
            foreach (var feedback in offered.GetRtcpFeedback(codec.PayloadType))
            {
                media.AddAttribute("rtcp-fb", feedback.ToString());
            }

            if (codec.Fmtp is { Length: > 0 } fmtp)
            {
                media.AddAttribute("fmtp", Invariant($"{codec.PayloadType} {fmtp}"));
            }

            if (codec.RtxPayloadType is { } rtxType)
            {
                media.AddAttribute("rtpmap", Invariant($"{rtxType} rtx/{codec.ClockRate}"));
                media.AddAttribute("fmtp", Invariant($"{rtxType} apt={codec.PayloadType}"));
            }

            tracks.Add(track);
            bundled.Add(mid);
            answer.Media.Add(media);
        }

        if (bundled.Count > 0)
        {
            answer.Attributes.Insert(0, new SdpAttribute("group", "BUNDLE " + string.Join(' ', bundled)));
        }
        else
        {
            // Nothing to receive right now, but the connection lives on for later offers: keep our ICE and DTLS
            // parameters at session level so the relay can still read them (RFC 8839 §5.4, RFC 8122 §5).
            answer.Attributes.Add(new SdpAttribute("ice-ufrag", local.Ice.Ufrag));
            answer.Attributes.Add(new SdpAttribute("ice-pwd", local.Ice.Password));
            answer.Attributes.Add(new SdpAttribute("fingerprint", local.Fingerprint.ToString()));
            answer.Attributes.Add(new SdpAttribute("setup", "active"));
        }

        result = new ClientSubscribeAnswer(answer, relay, tracks, rejected);
        error = null;
        return true;
    }

    /// <summary>A fresh SSRC: random, never 0 or 1 (browsers use those for probes and RTCP-only senders).</summary>
    public static uint RandomSsrc() => PublishAnswer.RandomSsrc();

    /// <summary>
    /// The stream an m-line of the relay's carries: its first payload type must be Opus, VP8 or H.264 (the relay
    /// lists its codec first, RTX after), and it must name its SSRC (RFC 5576 §4.1).
    /// </summary>
    private static bool TryReadTrack(MediaDescription media, out RelayTrack? track)
    {
        track = null;
        if (media.Mid is not { } mid || media.Formats.Count == 0
            || !int.TryParse(media.Formats[0], NumberStyles.None, CultureInfo.InvariantCulture, out var payloadType)
            || media.GetRtpMap(payloadType) is not { } map
            || !(map.IsCodec("opus") || map.IsCodec("VP8") || map.IsCodec("H264")))
        {
            return false;
        }

        var kind = string.Equals(media.Media, "audio", StringComparison.OrdinalIgnoreCase) ? MediaKind.Audio : MediaKind.Video;
        var codec = new RtpCodec(kind, map.EncodingName, payloadType, map.ClockRate, map.Channels, media.GetFmtp(payloadType)?.Parameters, media.FindRtxPayloadType(payloadType));
        var fid = media.SsrcGroups.FirstOrDefault(g => string.Equals(g.Semantics, "FID", StringComparison.OrdinalIgnoreCase));
        uint ssrc;
        uint? rtx = null;
        if (fid is { Ssrcs.Count: >= 2 })
        {
            ssrc = fid.Ssrcs[0];
            rtx = fid.Ssrcs[1];
        }
        else if (media.Ssrcs.Count > 0)
        {
            ssrc = media.Ssrcs[0].Ssrc;
        }
        else
        {
            return false;
        }

        var ids = new HeaderExtensionIds
        {
            Mid = media.FindExtMapId(SdpExtMap.MidUri) ?? 0,
            RtpStreamId = media.FindExtMapId(SdpExtMap.RtpStreamIdUri) ?? 0,
            RepairedRtpStreamId = media.FindExtMapId(SdpExtMap.RepairedRtpStreamIdUri) ?? 0,
            AbsSendTime = media.FindExtMapId(SdpExtMap.AbsSendTimeUri) ?? 0,
            TransportWideCc = media.FindExtMapId(SdpExtMap.TransportWideCcUri) ?? 0,
            AudioLevel = media.FindExtMapId(SdpExtMap.AudioLevelUri) ?? 0,
            PlayoutDelay = media.FindExtMapId(SdpExtMap.PlayoutDelayUri) ?? 0,
        };
        track = new RelayTrack(mid, kind, ssrc, rtx, codec, ids, media.Msid?.StreamId, media.Msid?.TrackId);
        return true;
    }

    private static bool IsKnownExtension(string uri) =>
        uri is SdpExtMap.MidUri or SdpExtMap.AbsSendTimeUri or SdpExtMap.TransportWideCcUri or SdpExtMap.AudioLevelUri
            or SdpExtMap.RtpStreamIdUri or SdpExtMap.RepairedRtpStreamIdUri or SdpExtMap.PlayoutDelayUri;

    private static SessionDescription NewSession()
    {
        var session = new SessionDescription
        {
            Origin = new SdpOrigin("-", (ulong)RandomNumberGenerator.GetInt32(1, int.MaxValue) << 20, 2, "IN", "IP4", "127.0.0.1"),
            SessionName = "-",
        };
        session.Fields.Add(new SdpLine('t', "0 0"));
        return session;
    }

    /// <summary>
    /// An m-line as a browser writes it before it has candidates (port 9, "discard", RFC 8839 §4.2.1.2 / JSEP §5.2.1),
    /// with our ICE credentials, fingerprint and DTLS role.
    /// </summary>
    private static MediaDescription NewMedia(string kind, int port, IEnumerable<int> formats, string mid, LocalTransportParameters local, string setup)
    {
        var media = new MediaDescription(kind, port, "UDP/TLS/RTP/SAVPF", formats.Select(f => f.ToString(CultureInfo.InvariantCulture)));
        media.Fields.Add(new SdpLine('c', "IN IP4 0.0.0.0"));
        media.AddAttribute("rtcp", "9 IN IP4 0.0.0.0");
        media.AddAttribute("ice-ufrag", local.Ice.Ufrag);
        media.AddAttribute("ice-pwd", local.Ice.Password);
        media.AddAttribute("fingerprint", local.Fingerprint.ToString());
        media.AddAttribute("setup", setup);
        media.AddAttribute("mid", mid);
        return media;
    }

    private static void AddExtMaps(MediaDescription media, HeaderExtensionIds ids, bool audio)
    {
        if (audio)
        {
            media.AddAttribute("extmap", Invariant($"{ids.AudioLevel} {SdpExtMap.AudioLevelUri}"));
        }

        media.AddAttribute("extmap", Invariant($"{ids.AbsSendTime} {SdpExtMap.AbsSendTimeUri}"));
        media.AddAttribute("extmap", Invariant($"{ids.TransportWideCc} {SdpExtMap.TransportWideCcUri}"));
        media.AddAttribute("extmap", Invariant($"{ids.Mid} {SdpExtMap.MidUri}"));
        if (!audio)
        {
            media.AddAttribute("extmap", Invariant($"{ids.RtpStreamId} {SdpExtMap.RtpStreamIdUri}"));
            media.AddAttribute("extmap", Invariant($"{ids.RepairedRtpStreamId} {SdpExtMap.RepairedRtpStreamIdUri}"));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
