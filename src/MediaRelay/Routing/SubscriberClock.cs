using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// What a consumer needs of the subscriber's transport. An abstract class rather than an interface: it is called three
/// times for every packet forwarded, and a virtual call costs a table lookup where an interface call goes through a
/// dispatch stub.
/// </summary>
internal abstract class SubscriberTransport
{
    /// <summary>DTLS is done and SRTP keys are installed: packets sent now can be decrypted.</summary>
    public abstract bool IsConnected { get; }

    public abstract bool SendRtp(Span<byte> buffer, int length);

    /// <summary>The next transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions §2) of this transport.</summary>
    public abstract ushort NextTransportSequence();
}

/// <summary>Wall-clock conversions for RTP header extensions and RTCP.</summary>
internal static class AbsSendTime
{
    /// <summary>abs-send-time at <paramref name="ticks"/> (<see cref="RoutingClock.Now"/>): 24-bit 6.18 fixed-point seconds (the abs-send-time header extension, http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time).</summary>
    public static uint At(long ticks)
    {
        var seconds = (double)ticks / Stopwatch.Frequency;
        return (uint)(seconds * (1 << 18)) & 0x00FF_FFFF;
    }
}

/// <summary>64-bit NTP timestamps (RFC 3550 §4): seconds since 1900 in the high word, fraction in the low word.</summary>
internal static class NtpTime
{
    private static readonly DateTimeOffset Epoch = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static ulong From(DateTimeOffset time)
    {
        var elapsed = time - Epoch;
        var seconds = (ulong)elapsed.Ticks / TimeSpan.TicksPerSecond;
        var fraction = (ulong)(elapsed.Ticks % TimeSpan.TicksPerSecond) * (1UL << 32) / TimeSpan.TicksPerSecond;
        return (seconds << 32) | fraction;
    }

    /// <summary>The middle 32 bits, as carried in report blocks' LSR field.</summary>
    public static uint Middle(ulong ntp) => (uint)(ntp >> 16);
}
