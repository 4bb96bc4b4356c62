using System.Text;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Tests.Sdp;

public class SdpFuzzTests
{
    private const int Iterations = 100_000;
    private const string Alphabet = "v=o-sa:m/ ;,~\r\n0123456789*{}abcdxyzBUNDLE\t";

    // An SFU-style answer with what the browser fixtures lack: ice-lite, candidates, rid restrictions, paused layers.
    private const string SfuAnswer =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE 0\r\n" +
        "m=video 40000 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 203.0.113.1\r\na=mid:0\r\na=recvonly\r\n" +
        "a=extmap:3/recvonly urn:ietf:params:rtp-hdrext:sdes:mid\r\na=rid:f recv max-width=1280;max-height=720\r\n" +
        "a=rid:h recv\r\na=simulcast:recv f;~h\r\na=candidate:1 1 udp 2130706431 203.0.113.1 40000 typ host generation 0\r\n" +
        "a=candidate:2 1 tcp 1518280447 203.0.113.1 443 typ host tcptype passive\r\n" +
        "a=candidate:3 1 udp 1686052607 198.51.100.2 61000 typ srflx raddr 10.0.0.2 rport 40000\r\na=end-of-candidates\r\n";

    [Fact]
    public void RandomAndMutatedText_NeverThrowsAndReserializesStably()
    {
        var random = new Random(8866);
        string[][] fixtures = [.. SdpFixtures.Names.Select(n => SdpFixtures.Load(n).Split("\r\n")), SfuAnswer.Split("\r\n")];
        int accepted = 0;
        for (int i = 0; i < Iterations; i++)
        {
            string text = Mutate(random, fixtures[random.Next(fixtures.Length)]);
            if (!SessionDescription.TryParse(text, out SessionDescription? sdp))
            {
                Assert.Null(sdp);
                continue;
            }

            accepted++;
            Assert.NotNull(sdp);
            Touch(sdp);
            string serialized = sdp.ToString();
            Assert.True(SessionDescription.TryParse(serialized, out SessionDescription? again), serialized);
            Assert.Equal(serialized, again!.ToString());
        }

        Assert.True(accepted > Iterations / 10, $"only {accepted} inputs were accepted");
    }

    /// <summary>A random window of a fixture's lines (to keep inputs small), then text mutations.</summary>
    private static string Mutate(Random random, string[] lines)
    {
        if (random.Next(20) == 0)
        {
            var noise = new StringBuilder();
            int n = random.Next(200);
            for (int k = 0; k < n; k++)
            {
                noise.Append(Alphabet[random.Next(Alphabet.Length)]);
            }

            return noise.ToString();
        }

        int start = random.Next(3) == 0 ? random.Next(lines.Length) : 0;
        int header = start == 0 ? 4 : 0;
        int count = Math.Min(lines.Length - start, header + random.Next(1, 12));
        var window = new List<string>(lines.AsSpan(start, count).ToArray());
        if (start == 0 && random.Next(2) == 0)
        {
            // Keep a media section in small windows by taking lines from further down as well.
            int from = random.Next(lines.Length);
            window.AddRange(lines.Skip(from).Take(random.Next(1, 10)));
        }

        int mutations = random.Next(0, 4);
        for (int m = 0; m < mutations && window.Count > 0; m++)
        {
            int index = random.Next(window.Count);
            string line = window[index];
            switch (random.Next(7))
            {
                case 0:
                    window.RemoveAt(index);
                    break;
                case 1:
                    window.Insert(random.Next(window.Count + 1), line);
                    break;
                case 2 when line.Length > 0:
                    window[index] = line[..random.Next(line.Length)];
                    break;
                case 3 when line.Length > 0:
                    char[] chars = line.ToCharArray();
                    chars[random.Next(chars.Length)] = Alphabet[random.Next(Alphabet.Length)];
                    window[index] = new string(chars);
                    break;
                case 4:
                    window[index] = line.Insert(random.Next(line.Length + 1), Alphabet[random.Next(Alphabet.Length)].ToString());
                    break;
                case 5 when line.Length > 2:
                    // Replace a value with a random number: ids, ports and payload types out of range.
                    window[index] = line[..2] + random.Next(-5, 100_000).ToString(System.Globalization.CultureInfo.InvariantCulture) + line[2..];
                    break;
                default:
                    window[index] = line.Replace(' ', random.Next(2) == 0 ? '/' : ':');
                    break;
            }
        }

        return string.Join(random.Next(4) == 0 ? "\n" : "\r\n", window);
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
            _ = media.IceUfrag;
            _ = media.IcePwd;
            _ = media.IceOptions;
            _ = media.Fingerprint?.ToString();
            _ = media.Setup;
            _ = media.RtcpMux || media.RtcpMuxOnly || media.RtcpReducedSize || media.BundleOnly || media.EndOfCandidates;
            foreach (SdpExtMap extMap in media.ExtMaps)
            {
                Assert.InRange(extMap.Id, 1, 255);
                Assert.True(SdpExtMap.TryParse(extMap.ToString(), out SdpExtMap? again));
                Assert.Equal(extMap, again);
            }

            foreach (SdpRtpMap rtpMap in media.RtpMaps)
            {
                Assert.InRange(rtpMap.PayloadType, 0, 127);
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
                Assert.True(SdpSimulcast.TryParse(simulcast.ToString(), out _));
            }

            foreach (SdpSsrc ssrc in media.Ssrcs)
            {
                _ = ssrc.ToString();
            }

            foreach (SdpSsrcGroup group in media.SsrcGroups)
            {
                Assert.NotEmpty(group.Ssrcs);
            }

            foreach (SdpCandidate candidate in media.Candidates)
            {
                Assert.InRange(candidate.Port, 0, 65535);
                _ = candidate.ToString();
            }

            _ = media.FindPayloadTypes("opus");
        }
    }
}
