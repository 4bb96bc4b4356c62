using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Srtp;

namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>
/// SRTP and SRTCP unprotect (RFC 3711 §3.3, §3.4; RFC 7714 for AES-GCM) on a long-lived receiver of each profile, as
/// WebRtcTransport.HandleSrtp runs it on every media datagram, then the RTP or RTCP reader on what it decrypted. The
/// first input byte chooses: bit 0 RTCP, bits 1-2 the profile, bit 3 "protect the rest with the matching sender
/// first", so mutated plaintext reaches the readers behind a valid tag; the rest is the packet.
/// </summary>
internal sealed class SrtpTarget : FuzzTarget
{
    private static readonly SrtpProfile[] Profiles = [SrtpProfile.Aes128CmHmacSha1_80, SrtpProfile.AeadAes128Gcm, SrtpProfile.AeadAes256Gcm];
    private const int Slack = 64;
    private readonly SrtpContext[] _senders;
    private readonly SrtpContext[] _receivers;
    private readonly byte[] _buffer = new byte[PacketMutator.MaxLength + Slack];

    public SrtpTarget()
    {
        _senders = [.. Profiles.Select(p => Context(p))];
        _receivers = [.. Profiles.Select(p => Context(p))];
    }

    public override string Name => "srtp";

    public override string EntryPoints =>
        "SrtpContext.TryUnprotectRtp/TryUnprotectRtcp (AES-CM/HMAC-SHA1-80, AEAD-AES-128-GCM, AEAD-AES-256-GCM) incl. " +
        "SrtpPacketLayout, rollover and replay window; then RtpHeader.TryRead or RtcpPacketEnumerator on the plaintext";

    // The RTP extension length or the RTCP length, after the control byte.
    public override int[] LengthOffsets => [3, 15];

    public override IEnumerable<byte[]> Seeds(Corpus corpus)
    {
        List<byte[]> seeds = [];
        foreach (byte[] recorded in corpus.Load(Name))
        {
            // Recorded under a session's own keys: right in shape, wrong in tag.
            seeds.Add([(byte)(recorded[1] is >= 192 and <= 223 ? 1 : 0), .. recorded]);
        }

        foreach (byte[] rtp in new RtpTarget().Seeds(corpus))
        {
            AddBoth(seeds, rtp, rtcp: false);
        }

        foreach (byte[] rtcp in new RtcpTarget().Seeds(corpus))
        {
            AddBoth(seeds, rtcp, rtcp: true);
        }

        return seeds;
    }

    public override bool Run(byte[] input)
    {
        if (input.Length == 0)
        {
            return false;
        }

        bool rtcp = (input[0] & 1) != 0;
        int profile = ((input[0] >> 1) & 3) % Profiles.Length;
        int length = input.Length - 1;
        Span<byte> buffer = _buffer;
        input.AsSpan(1).CopyTo(buffer);
        if ((input[0] & 8) != 0 && !Protect(_senders[profile], buffer, rtcp, ref length))
        {
            return false;
        }

        bool accepted = rtcp
            ? _receivers[profile].TryUnprotectRtcp(buffer, length, out int plain)
            : _receivers[profile].TryUnprotectRtp(buffer, length, out plain);
        if (!accepted)
        {
            return false;
        }

        Check.That(plain > 0 && plain <= length, "unprotect returned a length outside the packet");
        if ((input[0] & 8) != 0)
        {
            Check.That(buffer[..plain].SequenceEqual(input.AsSpan(1)), "protect then unprotect changed the packet");
        }

        if (rtcp)
        {
            var packets = new RtcpPacketEnumerator(buffer[..plain]);
            while (packets.MoveNext())
            {
                _ = packets.Current.PacketType;
            }
        }
        else if (RtpHeader.TryRead(buffer[..plain], out RtpHeader header))
        {
            _ = header.PayloadLength;
        }

        return true;
    }

    private static bool Protect(SrtpContext sender, Span<byte> buffer, bool rtcp, ref int length)
    {
        int newLength;
        bool done = rtcp ? sender.TryProtectRtcp(buffer, length, out newLength) : sender.TryProtectRtp(buffer, length, out newLength);
        length = newLength;
        return done;
    }

    /// <summary>Adds a plaintext packet twice for each profile: protected already, and to be protected by the target.</summary>
    private void AddBoth(List<byte[]> seeds, byte[] packet, bool rtcp)
    {
        for (int profile = 0; profile < Profiles.Length; profile++)
        {
            byte control = (byte)((rtcp ? 1 : 0) | (profile << 1));
            seeds.Add([(byte)(control | 8), .. packet]);
            byte[] buffer = new byte[packet.Length + Slack];
            packet.CopyTo(buffer, 0);
            int length = packet.Length;
            if (Protect(Context(Profiles[profile]), buffer, rtcp, ref length))
            {
                seeds.Add([control, .. buffer.AsSpan(0, length)]);
            }
        }
    }

    /// <summary>A context with a fixed key per profile, so that seeds protected at start-up verify.</summary>
    private static SrtpContext Context(SrtpProfile profile)
    {
        var random = new Random((int)profile);
        byte[] key = new byte[profile.KeyLength()];
        byte[] salt = new byte[profile.SaltLength()];
        random.NextBytes(key);
        random.NextBytes(salt);
        return new SrtpContext(profile, key, salt);
    }
}
