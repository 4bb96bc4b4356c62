using System.Globalization;
using System.Security.Cryptography;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Negotiation;

/// <summary>The result of answering a publisher's offer.</summary>
internal sealed record PublishNegotiation(
    SessionDescription Answer,
    RemoteTransportParameters Remote,
    IReadOnlyList<ProducerParameters> Producers,
    IReadOnlyList<ConsumerParameters> EchoConsumers);

/// <summary>
/// Answers a browser's offer for its publish connection (README: Architecture; a publish and a subscribe connection per participant): unified plan
/// (RFC 9429), everything BUNDLEd on our one transport, <c>a=ice-lite</c>, our host candidates and
/// <c>a=setup:passive</c> so the SFU is the DTLS server (RFC 8842 §5.3). The answer keeps the offer's
/// payload types and extension ids (RFC 3264 §6.1), so forwarding rewrites them per subscriber.
/// In echo mode (the connection test) each sending m-line is answered sendrecv and carries our SSRC,
/// so the browser plays back what the relay returns.
/// </summary>
internal static class PublishAnswer
{
    public const string Cname = "teletherapy-relay";

    public static bool TryCreate(
        SessionDescription offer,
        LocalTransportParameters local,
        bool echo,
        out PublishNegotiation? result,
        out string? error)
    {
        result = null;
        if (!RemoteTransportParameters.TryRead(offer, out var remote, out error))
        {
            return false;
        }

        var bundle = offer.BundleMids;
        var answer = NewSession();
        var accepted = new List<string>();
        var producers = new List<ProducerParameters>();
        var consumers = new List<ConsumerParameters>();
        foreach (var offered in offer.Media)
        {
            var mid = offered.Mid;
            var codec = offered.Port == 0 && !offered.BundleOnly ? null : SupportedCodecs.Select(offered);
            if (mid is null || codec is null || (bundle.Count > 0 && !bundle.Contains(mid)) || !IsRtpProtocol(offered.Protocol))
            {
                answer.Media.Add(Rejected(offered));
                continue;
            }

            var media = NewMedia(offered, codec, local);
            var sends = offered.Direction is SdpDirection.SendOnly or SdpDirection.SendRecv;
            var receives = offered.Direction is SdpDirection.RecvOnly or SdpDirection.SendRecv;
            var extensions = AddExtensions(offered, media, codec.Kind);
            ConsumerParameters? echoConsumer = null;
            if (echo && sends && receives)
            {
                echoConsumer = NewEchoConsumer(mid, codec, extensions);
                AddSsrcLines(media, echoConsumer);
            }

            media.Direction = (sends, echoConsumer is not null) switch
            {
                (true, true) => SdpDirection.SendRecv,
                (true, false) => SdpDirection.RecvOnly,
                _ => SdpDirection.Inactive,
            };

            if (sends)
            {
                var encodings = ReadEncodings(offered, media);
                producers.Add(new ProducerParameters(mid, codec.Kind, codec, extensions, encodings, offered.Msid?.StreamId, offered.Msid?.TrackId));
            }

            if (echoConsumer is not null)
            {
                consumers.Add(echoConsumer);
            }

            accepted.Add(mid);
            answer.Media.Add(media);
        }

        if (accepted.Count == 0)
        {
            error = "The offer has no audio or video we can relay (Opus, VP8 or H.264 over UDP/TLS/RTP/SAVPF).";
            return false;
        }

        answer.Attributes.Add(new SdpAttribute("group", "BUNDLE " + string.Join(' ', accepted)));
        answer.Attributes.Add(new SdpAttribute("msid-semantic", " WMS *"));
        result = new PublishNegotiation(answer, remote!, producers, consumers);
        return true;
    }

    internal static bool IsRtpProtocol(string protocol) =>
        protocol.Contains("RTP/SAVPF", StringComparison.OrdinalIgnoreCase);

    /// <summary>Session-level part of every description we write (the ICE/DTLS attributes go on each m-line).</summary>
    internal static SessionDescription NewSession()
    {
        var session = new SessionDescription
        {
            Origin = new SdpOrigin("-", RandomSessionId(), 2, "IN", "IP4", "127.0.0.1"),
            SessionName = "-",
        };
        session.Fields.Add(new SdpLine('t', "0 0"));
        // RFC 8445 §5.1.1.1 / RFC 8839 §5.3: a lite implementation says so at session level.
        session.Attributes.Add(new SdpAttribute("ice-lite"));
        return session;
    }

    /// <summary>An m-line with our transport attributes: ICE, DTLS fingerprint, setup, rtcp-mux and candidates.</summary>
    internal static MediaDescription NewMedia(string kind, string mid, IEnumerable<string> formats, LocalTransportParameters local, string setup, bool rtcpReducedSize)
    {
        var udp = local.Candidates.FirstOrDefault(c => c.IsUdp);
        var media = new MediaDescription(kind, udp?.Port ?? 9, "UDP/TLS/RTP/SAVPF", formats);
        media.Fields.Add(new SdpLine('c', udp is null ? "IN IP4 0.0.0.0" : $"IN {(udp.Address.Contains(':', StringComparison.Ordinal) ? "IP6" : "IP4")} {udp.Address}"));
        media.AddAttribute("mid", mid);
        media.AddAttribute("ice-ufrag", local.Ice.Ufrag);
        media.AddAttribute("ice-pwd", local.Ice.Password);
        media.AddAttribute("fingerprint", local.Fingerprint.ToString());
        media.AddAttribute("setup", setup);
        media.AddAttribute("rtcp-mux");
        if (rtcpReducedSize)
        {
            media.AddAttribute("rtcp-rsize");
        }

        foreach (var candidate in local.Candidates)
        {
            media.AddAttribute("candidate", candidate.ToString());
        }

        media.AddAttribute("end-of-candidates");
        return media;
    }

    /// <summary>Writes the rtpmap, fmtp, rtcp-fb lines of a codec (and its RTX, RFC 4588 §8.6).</summary>
    internal static void AddCodec(MediaDescription media, RtpCodec codec, IReadOnlyList<string> feedback)
    {
        var channels = codec.Channels is { } c ? "/" + c.ToString(CultureInfo.InvariantCulture) : string.Empty;
        media.AddAttribute("rtpmap", string.Create(CultureInfo.InvariantCulture, $"{codec.PayloadType} {codec.Name}/{codec.ClockRate}{channels}"));
        foreach (var fb in feedback)
        {
            media.AddAttribute("rtcp-fb", string.Create(CultureInfo.InvariantCulture, $"{codec.PayloadType} {fb}"));
        }

        if (!string.IsNullOrEmpty(codec.Fmtp))
        {
            media.AddAttribute("fmtp", string.Create(CultureInfo.InvariantCulture, $"{codec.PayloadType} {codec.Fmtp}"));
        }

        if (codec.RtxPayloadType is { } rtx)
        {
            media.AddAttribute("rtpmap", string.Create(CultureInfo.InvariantCulture, $"{rtx} rtx/{codec.ClockRate}"));
            media.AddAttribute("fmtp", string.Create(CultureInfo.InvariantCulture, $"{rtx} apt={codec.PayloadType}"));
        }
    }

    internal static void AddSsrcLines(MediaDescription media, ConsumerParameters consumer)
    {
        media.AddAttribute("msid", $"{consumer.StreamId} {consumer.TrackId}");
        if (consumer.RtxSsrc is { } rtx)
        {
            media.AddAttribute("ssrc-group", string.Create(CultureInfo.InvariantCulture, $"FID {consumer.Ssrc} {rtx}"));
        }

        foreach (var ssrc in consumer.RtxSsrc is { } r ? new[] { consumer.Ssrc, r } : [consumer.Ssrc])
        {
            media.AddAttribute("ssrc", string.Create(CultureInfo.InvariantCulture, $"{ssrc} cname:{consumer.Cname}"));
            media.AddAttribute("ssrc", string.Create(CultureInfo.InvariantCulture, $"{ssrc} msid:{consumer.StreamId} {consumer.TrackId}"));
        }
    }

    internal static uint RandomSsrc()
    {
        Span<byte> bytes = stackalloc byte[4];
        uint value;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            value = BitConverter.ToUInt32(bytes);
        }
        while (value < 2); // 0 and 1 are used by browsers for probes and RTCP-only senders.

        return value;
    }

    private static ulong RandomSessionId() => (ulong)RandomNumberGenerator.GetInt32(1, int.MaxValue) << 20;

    private static MediaDescription NewMedia(MediaDescription offered, RtpCodec codec, LocalTransportParameters local)
    {
        var formats = codec.RtxPayloadType is { } rtx
            ? new[] { codec.PayloadType.ToString(CultureInfo.InvariantCulture), rtx.ToString(CultureInfo.InvariantCulture) }
            : [codec.PayloadType.ToString(CultureInfo.InvariantCulture)];
        var media = NewMedia(offered.Media, offered.Mid!, formats, local, "passive", offered.RtcpReducedSize);
        var allowed = codec.Kind == MediaKind.Audio ? SupportedCodecs.FeedbackAudio : SupportedCodecs.FeedbackVideo;
        var feedback = new List<string>();
        foreach (var fb in offered.GetRtcpFeedback(codec.PayloadType))
        {
            var text = fb.Parameter is null ? fb.Type : $"{fb.Type} {fb.Parameter}";
            if (allowed.Contains(text, StringComparer.OrdinalIgnoreCase))
            {
                feedback.Add(text);
            }
        }

        AddCodec(media, codec, feedback);
        return media;
    }

    private static HeaderExtensionIds AddExtensions(MediaDescription offered, MediaDescription media, MediaKind kind)
    {
        var allowed = kind == MediaKind.Audio ? SupportedCodecs.ExtensionsAudio : SupportedCodecs.ExtensionsVideo;
        var ids = new HeaderExtensionIds();
        foreach (var ext in offered.ExtMaps)
        {
            if (!allowed.Contains(ext.Uri, StringComparer.Ordinal) || ext.Id is < 1 or > 14)
            {
                continue;
            }

            media.AddAttribute("extmap", string.Create(CultureInfo.InvariantCulture, $"{ext.Id} {ext.Uri}"));
            ids = ext.Uri switch
            {
                SdpExtMap.MidUri => ids with { Mid = ext.Id },
                SdpExtMap.RtpStreamIdUri => ids with { RtpStreamId = ext.Id },
                SdpExtMap.RepairedRtpStreamIdUri => ids with { RepairedRtpStreamId = ext.Id },
                SdpExtMap.AbsSendTimeUri => ids with { AbsSendTime = ext.Id },
                SdpExtMap.TransportWideCcUri => ids with { TransportWideCc = ext.Id },
                SdpExtMap.AudioLevelUri => ids with { AudioLevel = ext.Id },
                _ => ids,
            };
        }

        return ids;
    }

    /// <summary>
    /// Simulcast (RFC 8853): answer each offered send rid with recv and mirror the simulcast line. Without
    /// rids the stream is bound by its SSRC (a=ssrc, a=ssrc-group:FID) or, lacking those, by MID on arrival.
    /// </summary>
    private static List<ProducerEncoding> ReadEncodings(MediaDescription offered, MediaDescription media)
    {
        var encodings = new List<ProducerEncoding>();
        var sendRids = offered.Rids.Where(r => r.IsSend).ToList();
        var simulcast = offered.Simulcast;
        if (sendRids.Count > 0 && simulcast is { Send.Count: > 0 })
        {
            var layers = new List<string>();
            foreach (var alternatives in simulcast.Send)
            {
                var layer = alternatives[0];
                if (sendRids.Any(r => r.Id == layer.Rid))
                {
                    layers.Add(layer.Rid);
                    media.AddAttribute("rid", $"{layer.Rid} recv");
                    encodings.Add(new ProducerEncoding(layer.Rid, null, null));
                }
            }

            media.AddAttribute("simulcast", "recv " + string.Join(';', layers));
            return encodings;
        }

        var fid = offered.SsrcGroups.FirstOrDefault(g => string.Equals(g.Semantics, "FID", StringComparison.OrdinalIgnoreCase));
        if (fid is { Ssrcs.Count: >= 2 })
        {
            encodings.Add(new ProducerEncoding(null, fid.Ssrcs[0], fid.Ssrcs[1]));
            return encodings;
        }

        var ssrcs = offered.Ssrcs;
        encodings.Add(new ProducerEncoding(null, ssrcs.Count > 0 ? ssrcs[0].Ssrc : null, null));
        return encodings;
    }

    private static ConsumerParameters NewEchoConsumer(string mid, RtpCodec codec, HeaderExtensionIds extensions) =>
        new(
            mid,
            codec.Kind,
            codec,
            extensions,
            RandomSsrc(),
            codec.RtxPayloadType is null ? null : RandomSsrc(),
            Cname,
            "teletherapy-echo",
            "echo-" + mid);

    /// <summary>RFC 3264 §6: a rejected stream is answered with port 0, keeping its position and mid.</summary>
    internal static MediaDescription Rejected(MediaDescription offered) =>
        Closed(offered.Media, offered.Protocol, offered.Formats.Count > 0 ? offered.Formats[0] : "0", offered.Mid);

    /// <summary>An m-line with port 0 (RFC 3264 §6, RFC 8843 §7.3.3): it keeps its position and mid, and carries nothing.</summary>
    internal static MediaDescription Closed(string kind, string protocol, string format, string? mid)
    {
        var media = new MediaDescription(kind, 0, protocol, [format]);
        media.Fields.Add(new SdpLine('c', "IN IP4 0.0.0.0"));
        if (mid is not null)
        {
            media.AddAttribute("mid", mid);
        }

        media.Direction = SdpDirection.Inactive;
        return media;
    }
}
