using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Srtp;

/// <summary>
/// SRTP and SRTCP for one direction of one transport (RFC 3711, RFC 7714): an outbound context protects
/// what we send, an inbound one unprotects what we receive. Packets are transformed in place in the
/// caller's buffer; the buffer must have room for <see cref="SrtpProfileParameters.RtpOverhead"/> or
/// <see cref="SrtpProfileParameters.RtcpOverhead"/> extra bytes when protecting.
/// </summary>
/// <remarks>
/// Not thread-safe, by design: a context belongs to the one thread that handles its transport, so the
/// per-packet path needs no locks, and its cipher objects and scratch buffers are reused without allocation.
/// Every method returns false on bad input instead of throwing.
/// </remarks>
internal sealed class SrtpContext : IDisposable
{
    /// <summary>
    /// Upper bound on SSRCs tracked per context. State is created only for authenticated packets, so this
    /// limits a misbehaving (authenticated) peer, not an attacker.
    /// </summary>
    internal const int MaxStreams = 1024;

    private readonly SrtpTransform _rtp;
    private readonly SrtpTransform _rtcp;
    private readonly Dictionary<uint, SrtpStreamState> _rtpStreams = new(8);
    private readonly Dictionary<uint, SrtpStreamState> _rtcpStreams = new(8);

    // The RTP streams of the last two packets (a connection's audio and video, usually): most packets find their state
    // here, in this object, instead of in the dictionary's buckets and entries. Streams are never removed.
    private SrtpStreamState? _recent;
    private SrtpStreamState? _recentBefore;
    private uint _recentSsrc;
    private uint _recentBeforeSsrc;
    private bool _disposed;

    /// <summary>Creates a context from a master key and salt, deriving the session keys (RFC 3711 §4.3, kdr 0).</summary>
    /// <exception cref="ArgumentException">The key or salt length does not fit <paramref name="profile"/>.</exception>
    public SrtpContext(SrtpProfile profile, ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> masterSalt)
        : this(
            profile,
            SrtpKeyDerivation.DeriveSessionKeys(profile, masterKey, masterSalt, rtcp: false),
            SrtpKeyDerivation.DeriveSessionKeys(profile, masterKey, masterSalt, rtcp: true))
    {
    }

    /// <summary>Creates a context from session keys directly (the RFC 7714 vectors are given that way).</summary>
    internal SrtpContext(SrtpProfile profile, SrtpSessionKeys rtpKeys, SrtpSessionKeys rtcpKeys)
    {
        Profile = profile;
        _rtp = CreateTransform(profile, rtpKeys);
        _rtcp = CreateTransform(profile, rtcpKeys);
    }

    /// <summary>The protection profile of this context.</summary>
    public SrtpProfile Profile { get; }

    /// <summary>
    /// Protects the RTP packet in <c>buffer[..length]</c> in place: encrypts its payload and appends the tag.
    /// Keeps a rollover counter per SSRC that increments when the sequence number wraps.
    /// </summary>
    public bool TryProtectRtp(Span<byte> buffer, int length, out int newLength)
    {
        newLength = 0;
        if (_disposed || length < 0 || length > buffer.Length - _rtp.TagLength
            || !SrtpPacketLayout.TryReadRtp(buffer[..length], out uint ssrc, out ushort sequenceNumber, out int headerLength))
        {
            return false;
        }

        SrtpStreamState? state = FindRtpStream(ssrc);
        ulong index;
        if (state is null)
        {
            // RFC 3711 §3.3.1: a new stream starts with ROC 0.
            if (_rtpStreams.Count >= MaxStreams)
            {
                return false;
            }

            index = sequenceNumber;
            state = new SrtpStreamState();
            state.Window.Reset(index);
            AddRtpStream(ssrc, state);
        }
        else
        {
            // The same estimate as a receiver makes, so a retransmission from before a wrap keeps its old ROC.
            index = SrtpRolloverCounter.EstimateIndex(state.Window.Highest, sequenceNumber);
            if (index == SrtpRolloverCounter.InvalidIndex)
            {
                return false;
            }

            state.Window.Accept(index);
        }

        _rtp.ProtectRtp(buffer, length, headerLength, ssrc, index);
        newLength = length + _rtp.TagLength;
        return true;
    }

    /// <summary>
    /// Unprotects the SRTP packet in <c>buffer[..length]</c> in place. Rejects replays and packets whose tag
    /// does not verify; the rollover counter and replay window move only for authenticated packets.
    /// </summary>
    public bool TryUnprotectRtp(Span<byte> buffer, int length, out int newLength) =>
        UnprotectRtp(buffer, length, out newLength) == SrtpUnprotectResult.Ok;

    /// <summary>As <see cref="TryUnprotectRtp"/>, saying why a packet was refused.</summary>
    public SrtpUnprotectResult UnprotectRtp(Span<byte> buffer, int length, out int newLength)
    {
        newLength = 0;
        int tag = _rtp.TagLength;
        if (_disposed || length < SrtpPacketLayout.RtpFixedHeaderLength + tag || length > buffer.Length
            || !SrtpPacketLayout.TryReadRtp(buffer[..(length - tag)], out uint ssrc, out ushort sequenceNumber, out int headerLength))
        {
            return SrtpUnprotectResult.Malformed;
        }

        SrtpStreamState? state = FindRtpStream(ssrc);
        ulong index;
        if (state is null)
        {
            if (_rtpStreams.Count >= MaxStreams)
            {
                return SrtpUnprotectResult.TooManyStreams;
            }

            index = sequenceNumber;
        }
        else
        {
            // RFC 3711 §3.3.1 and Appendix A: guess ROC−1, ROC or ROC+1 from the highest index seen.
            index = SrtpRolloverCounter.EstimateIndex(state.Window.Highest, sequenceNumber);
            if (index == SrtpRolloverCounter.InvalidIndex)
            {
                return SrtpUnprotectResult.OutOfWindow;
            }

            if (!state.Window.IsAcceptable(index))
            {
                return state.Window.Refusal(index);
            }
        }

        if (!_rtp.TryUnprotectRtp(buffer, length, headerLength, ssrc, index))
        {
            return SrtpUnprotectResult.AuthenticationFailed;
        }

        // RFC 3711 §3.3.1: update ROC and s_l only after authentication, and only when the packet is newer.
        if (state is null)
        {
            state = new SrtpStreamState();
            state.Window.Reset(index);
            AddRtpStream(ssrc, state);
        }
        else
        {
            state.Window.Accept(index);
        }

        newLength = length - tag;
        return SrtpUnprotectResult.Ok;
    }

    /// <summary>
    /// Protects the (compound) RTCP packet in <c>buffer[..length]</c> in place: encrypts all but the first
    /// 8 bytes and appends E‖SRTCP index and the tag in the order the profile requires.
    /// </summary>
    public bool TryProtectRtcp(Span<byte> buffer, int length, out int newLength)
    {
        newLength = 0;
        if (_disposed || length < SrtpPacketLayout.RtcpHeaderLength || length > buffer.Length - _rtcp.TagLength - 4
            || !SrtpPacketLayout.TryReadRtcpSsrc(buffer[..length], out uint ssrc))
        {
            return false;
        }

        SrtpStreamState? state = GetOrAddRtcpStream(ssrc);
        if (state is null)
        {
            return false;
        }

        uint index = state.NextRtcpIndex;

        // RFC 3711 §3.4: 31 bits; wrapping would need re-keying, which DTLS-SRTP sessions never reach in practice.
        state.NextRtcpIndex = (index + 1) & 0x7FFF_FFFFu;
        newLength = _rtcp.ProtectRtcp(buffer, length, ssrc, index);
        return true;
    }

    /// <summary>Unprotects the SRTCP packet in <c>buffer[..length]</c> in place, rejecting replays and bad tags.</summary>
    public bool TryUnprotectRtcp(Span<byte> buffer, int length, out int newLength) =>
        UnprotectRtcp(buffer, length, out newLength) == SrtpUnprotectResult.Ok;

    /// <summary>As <see cref="TryUnprotectRtcp"/>, saying why a packet was refused.</summary>
    public SrtpUnprotectResult UnprotectRtcp(Span<byte> buffer, int length, out int newLength)
    {
        newLength = 0;
        int overhead = _rtcp.TagLength + 4;
        if (_disposed || length < SrtpPacketLayout.RtcpHeaderLength + overhead || length > buffer.Length
            || !SrtpPacketLayout.TryReadRtcpSsrc(buffer[..(length - overhead)], out uint ssrc))
        {
            return SrtpUnprotectResult.Malformed;
        }

        uint indexWord = BinaryPrimitives.ReadUInt32BigEndian(buffer[(length - _rtcp.RtcpIndexOffsetFromEnd)..]);
        uint index = indexWord & 0x7FFF_FFFFu;
        _rtcpStreams.TryGetValue(ssrc, out SrtpStreamState? state);
        if (state is null && _rtcpStreams.Count >= MaxStreams)
        {
            return SrtpUnprotectResult.TooManyStreams;
        }

        if (state is not null && !state.Window.IsAcceptable(index))
        {
            return state.Window.Refusal(index);
        }

        if (!_rtcp.TryUnprotectRtcp(buffer, length, ssrc, indexWord, out newLength))
        {
            return SrtpUnprotectResult.AuthenticationFailed;
        }

        if (state is null)
        {
            state = new SrtpStreamState();
            state.Window.Reset(index);
            _rtcpStreams.Add(ssrc, state);
        }
        else
        {
            state.Window.Accept(index);
        }

        return SrtpUnprotectResult.Ok;
    }

    /// <summary>Sets the next SRTCP index to send for <paramref name="ssrc"/> (for known-answer tests).</summary>
    internal void SetNextRtcpIndex(uint ssrc, uint index)
    {
        SrtpStreamState state = GetOrAddRtcpStream(ssrc) ?? throw new InvalidOperationException("Too many streams.");
        state.NextRtcpIndex = index & 0x7FFF_FFFFu;
    }

    /// <summary>Current rollover counter of an RTP stream, or null when the SSRC is unknown.</summary>
    internal uint? GetRolloverCounter(uint ssrc) =>
        _rtpStreams.TryGetValue(ssrc, out SrtpStreamState? state) ? (uint)(state.Window.Highest >> 16) : null;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _rtp.Dispose();
        _rtcp.Dispose();
    }

    private SrtpStreamState? FindRtpStream(uint ssrc)
    {
        if (_recentSsrc == ssrc && _recent is { } recent)
        {
            return recent;
        }

        if (_recentBeforeSsrc == ssrc && _recentBefore is { } before)
        {
            Remember(ssrc, before);
            return before;
        }

        if (_rtpStreams.TryGetValue(ssrc, out SrtpStreamState? state))
        {
            Remember(ssrc, state);
        }

        return state;
    }

    private void AddRtpStream(uint ssrc, SrtpStreamState state)
    {
        _rtpStreams.Add(ssrc, state);
        Remember(ssrc, state);
    }

    private void Remember(uint ssrc, SrtpStreamState state)
    {
        (_recentBefore, _recentBeforeSsrc) = (_recent, _recentSsrc);
        (_recent, _recentSsrc) = (state, ssrc);
    }

    private SrtpStreamState? GetOrAddRtcpStream(uint ssrc)
    {
        if (_rtcpStreams.TryGetValue(ssrc, out SrtpStreamState? state))
        {
            return state;
        }

        if (_rtcpStreams.Count >= MaxStreams)
        {
            return null;
        }

        state = new SrtpStreamState();
        _rtcpStreams.Add(ssrc, state);
        return state;
    }

    private static SrtpTransform CreateTransform(SrtpProfile profile, SrtpSessionKeys keys) =>
        profile.IsAead() ? new AesGcmTransform(keys) : new AesCmHmacSha1Transform(keys);
}
