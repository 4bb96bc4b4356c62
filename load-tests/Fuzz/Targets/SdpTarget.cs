using System.Globalization;
using System.Text;
using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Ice;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Routing;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>
/// SDP from signaling (RFC 8866; the attributes of RFC 8829): the size and m-line caps checked before parsing, the
/// parser, every attribute reader, re-serialization, and what the relay and its client stack derive from an offer or an
/// answer. Mutations work on lines (drop, repeat, cut, splice from another capture, numbers at their limits) as well
/// as on bytes, since the parser reads lines.
/// </summary>
internal sealed class SdpTarget : FuzzTarget
{
    private const string Alphabet = "v=o-sa:m/ ;,~\r\n0123456789*{}abcdxyzBUNDLE\t";

    // An SFU-style answer with what the browser captures lack: ice-lite, candidates, rid restrictions, paused layers.
    private const string SfuAnswer =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE 0\r\n" +
        "m=video 40000 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 203.0.113.1\r\na=mid:0\r\na=recvonly\r\n" +
        "a=extmap:3/recvonly urn:ietf:params:rtp-hdrext:sdes:mid\r\na=rid:f recv max-width=1280;max-height=720\r\n" +
        "a=rid:h recv\r\na=simulcast:recv f;~h\r\na=candidate:1 1 udp 2130706431 203.0.113.1 40000 typ host generation 0\r\n" +
        "a=candidate:2 1 tcp 1518280447 203.0.113.1 443 typ host tcptype passive\r\n" +
        "a=candidate:3 1 udp 1686052607 198.51.100.2 61000 typ srflx raddr 10.0.0.2 rport 40000\r\na=end-of-candidates\r\n";

    private static readonly string[] Limits = ["-1", "0", "65535", "65536", "2147483647", "2147483648", "4294967296", "99999999999999999999"];

    private static readonly DtlsFingerprint Fingerprint = DtlsCertificate.Generate("fuzz-sdp").Fingerprint;
    private readonly LocalTransportParameters _local = new(
        new IceCredentials("fuzzufrg", "fuzzpasswordfuzzpassword"),
        new SdpFingerprint(Fingerprint.Algorithm, Fingerprint.ToHex()),
        LocalTransportParameters.HostCandidates(["203.0.113.7"], 40000, 443));

    private readonly RelayLimits _limits = new(new MediaOptions());
    private readonly ConsumerParameters _consumer = new(
        "0", MediaKind.Video, SubscribeOffer.CodecFor(new RtpCodec(MediaKind.Video, "VP8", 96, 90000)), SubscribeOffer.Extensions, 1, 2, "c", "s", "t");

    private string[][] _lines = [];

    public override string Name => "sdp";

    public override string EntryPoints =>
        "RelayLimits.CheckOffer/CheckAnswer/CheckSimulcast, SessionDescription.TryParse/ToString and every attribute reader, " +
        "PublishAnswer.TryCreate (publish and echo), RemoteTransportParameters/RelayTransportParameters.TryRead, " +
        "SubscribeOffer.TryReadAnswer/AcceptsRtx, DtlsFingerprint.TryParse, ClientNegotiation.TryReadPublishAnswer/TryCreateSubscribeAnswer";

    public override IEnumerable<byte[]> Seeds(Corpus corpus)
    {
        List<string> texts = [.. corpus.Load(Name).Select(Encoding.UTF8.GetString), SfuAnswer];
        var ice = new IceCredentials("clntufrg", "clientpasswordclientpass");
        var client = ClientNegotiation.LocalParameters(ice, Fingerprint);
        texts.Add(ClientNegotiation.CreatePublishOffer([ClientTrack.Audio("0", 1), ClientTrack.Video("1", 2, 3)], client, "cname", "stream").ToString());
        texts.Add(ClientNegotiation.CreatePublishOffer([ClientTrack.SimulcastVideo("0")], client, "cname", "stream", SdpDirection.SendRecv, h264: true).ToString());
        texts.Add(SubscribeOffer.Create([new SubscribeSlot("0", MediaKind.Video, _consumer), new SubscribeSlot("1", MediaKind.Audio, null)], _local, true, 1).ToString());
        _lines = [.. texts.Select(t => t.Split("\r\n"))];
        return texts.Select(Encoding.UTF8.GetBytes);
    }

    public override byte[] Next(PacketMutator mutator) => mutator.Random.Next(3) switch
    {
        0 => mutator.Next(),
        1 => mutator.Mutate(Encoding.UTF8.GetBytes(MutateLines(mutator.Random, Encoding.UTF8.GetString(mutator.Pick()).Split("\r\n")))),
        _ => Encoding.UTF8.GetBytes(MutateLines(mutator.Random, _lines[mutator.Random.Next(_lines.Length)])),
    };

    public override bool Run(byte[] input)
    {
        string text = Encoding.UTF8.GetString(input);
        bool withinLimits = _limits.CheckOffer(text) is null;
        _limits.CheckAnswer(text, 4);
        ClientNegotiation.TryReadPublishAnswer(text, out _, out _);
        ClientNegotiation.TryCreateSubscribeAnswer(text, _local, out _, out _);
        if (!SessionDescription.TryParse(text, out SessionDescription? sdp))
        {
            Check.That(sdp is null, "a description from text that did not parse");
            return false;
        }

        Check.That(sdp is not null, "parsed without a description");
        Touch(sdp!);
        string serialized = sdp!.ToString();
        Check.That(SessionDescription.TryParse(serialized, out SessionDescription? again), "what the relay wrote does not parse");
        Check.That(again!.ToString() == serialized, "writing, parsing and writing again changed the text");
        if (withinLimits && _limits.CheckSimulcast(sdp) is null)
        {
            Negotiate(sdp);
        }

        return true;
    }

    /// <summary>What RouterPeer.Publish, the connection test and a subscribe answer do with a parsed description.</summary>
    private void Negotiate(SessionDescription sdp)
    {
        foreach (bool echo in (bool[])[false, true])
        {
            if (PublishAnswer.TryCreate(sdp, _local, echo, out PublishNegotiation? negotiation, out _))
            {
                _ = DtlsFingerprint.TryParse(negotiation!.Remote.Fingerprint.ToString(), out _);
                string answer = negotiation.Answer.ToString();
                Check.That(SessionDescription.TryParse(answer, out _), "the relay's answer does not parse");
            }
        }

        RelayTransportParameters.TryRead(sdp, out _, out _);
        SubscribeSlot[] slots = [.. sdp.Media.Select((m, i) => new SubscribeSlot(m.Mid ?? i.ToString(CultureInfo.InvariantCulture), MediaKind.Video, i == 0 ? _consumer : null))];
        if (SubscribeOffer.TryReadAnswer(sdp, slots, out RemoteTransportParameters? remote, out _))
        {
            _ = DtlsFingerprint.TryParse(remote!.Fingerprint.ToString(), out _);
        }

        SubscribeOffer.AcceptsRtx(sdp, _consumer);
    }

    /// <summary>A random window of a capture's lines (to keep inputs small), then line mutations.</summary>
    private static string MutateLines(Random random, string[] lines)
    {
        int start = random.Next(3) == 0 ? random.Next(lines.Length) : 0;
        int header = start == 0 ? 4 : 0;
        int count = Math.Min(lines.Length - start, header + random.Next(1, 16));
        var window = new List<string>(lines.AsSpan(start, count).ToArray());
        if (start == 0 && random.Next(2) == 0)
        {
            // Keep a media section in small windows by taking lines from further down as well.
            int from = random.Next(lines.Length);
            window.AddRange(lines.Skip(from).Take(random.Next(1, 12)));
        }

        int mutations = random.Next(0, 5);
        for (int m = 0; m < mutations && window.Count > 0; m++)
        {
            int index = random.Next(window.Count);
            if (random.Next(8) == 0)
            {
                window.RemoveAt(index);
                continue;
            }

            window[index] = MutateLine(random, window, index);
        }

        return string.Join(random.Next(4) == 0 ? "\n" : "\r\n", window);
    }

    private static string MutateLine(Random random, List<string> window, int index)
    {
        string line = window[index];
        switch (random.Next(8))
        {
            case 0:
                window.Insert(random.Next(window.Count + 1), line);
                return line;
            case 1 when line.Length > 0:
                return line[..random.Next(line.Length)];
            case 2 when line.Length > 0:
                char[] chars = line.ToCharArray();
                chars[random.Next(chars.Length)] = Alphabet[random.Next(Alphabet.Length)];
                return new string(chars);
            case 3:
                return line.Insert(random.Next(line.Length + 1), Alphabet[random.Next(Alphabet.Length)].ToString());
            case 4 when line.Length > 2:
                // A value replaced by a random number: ids, ports and payload types out of range.
                return line[..2] + random.Next(-5, 100_000).ToString(CultureInfo.InvariantCulture) + line[2..];
            case 5:
                return ReplaceNumber(random, line);
            case 6:
                return line.Replace(' ', random.Next(2) == 0 ? '/' : ':');
            default:
                return window[random.Next(window.Count)];
        }
    }

    /// <summary>One run of digits in the line set to a limit: 0, 65535, 2^31, 2^32 and beyond.</summary>
    private static string ReplaceNumber(Random random, string line)
    {
        int digit = line.IndexOfAny("0123456789".ToCharArray(), random.Next(line.Length + 1));
        if (digit < 0)
        {
            return line;
        }

        int end = digit;
        while (end < line.Length && char.IsAsciiDigit(line[end]))
        {
            end++;
        }

        return line[..digit] + Limits[random.Next(Limits.Length)] + line[end..];
    }

    private static void Touch(SessionDescription sdp)
    {
        _ = sdp.Groups;
        _ = sdp.BundleMids;
        _ = sdp.IceLite;
        _ = sdp.IceUfrag;
        _ = sdp.IcePwd;
        _ = sdp.IceOptions;
        _ = sdp.Fingerprint?.ToString();
        _ = sdp.Setup;
        foreach (MediaDescription media in sdp.Media)
        {
            _ = media.Mid;
            _ = media.Direction;
            _ = media.Msid?.ToString();
            _ = media.IceUfrag + media.IcePwd + media.IceOptions + media.Setup + media.Fingerprint?.ToString();
            _ = media.RtcpMux || media.RtcpMuxOnly || media.RtcpReducedSize || media.BundleOnly || media.EndOfCandidates;
            foreach (SdpExtMap extMap in media.ExtMaps)
            {
                Check.That(extMap.Id is >= 1 and <= 255, "extmap id outside 1-255");
                Check.That(SdpExtMap.TryParse(extMap.ToString(), out SdpExtMap? again) && extMap.Equals(again), "extmap does not read back");
            }

            foreach (SdpRtpMap rtpMap in media.RtpMaps)
            {
                Check.That(rtpMap.PayloadType is >= 0 and <= 127, "payload type outside 0-127");
                _ = media.FindRtxPayloadType(rtpMap.PayloadType);
                _ = media.GetRtcpFeedback(rtpMap.PayloadType);
            }

            foreach (SdpFmtp fmtp in media.Fmtps)
            {
                _ = fmtp.GetParameters();
                _ = fmtp.AssociatedPayloadType;
            }

            foreach (SdpRid rid in media.Rids)
            {
                _ = rid.ToString();
            }

            if (media.Simulcast is { } simulcast)
            {
                Check.That(SdpSimulcast.TryParse(simulcast.ToString(), out _), "simulcast does not read back");
            }

            TouchLists(media);
            _ = media.FindPayloadTypes("opus");
        }
    }

    private static void TouchLists(MediaDescription media)
    {
        foreach (SdpSsrc ssrc in media.Ssrcs)
        {
            _ = ssrc.ToString();
        }

        foreach (SdpSsrcGroup group in media.SsrcGroups)
        {
            Check.That(group.Ssrcs.Count > 0, "an ssrc-group without SSRCs");
        }

        foreach (SdpCandidate candidate in media.Candidates)
        {
            Check.That(candidate.Port is >= 0 and <= 65535, "candidate port outside 0-65535");
            _ = candidate.ToString();
        }

        foreach (SdpRtcpFeedback feedback in media.RtcpFeedback)
        {
            _ = feedback.ToString();
        }
    }
}
