using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// REMB, PT 206 FMT 15 (draft-alvestrand-rmcat-remb-03 §2.2): "REMB", SSRC count, bitrate as 6-bit exponent and
/// 18-bit mantissa (bps = mantissa · 2^exp), then the SSRCs the estimate applies to.
/// </summary>
internal readonly ref struct ReceiverEstimatedMaxBitrate
{
    private const uint Identifier = 0x52454D42; // "REMB"
    private const int MaxMantissa = (1 << 18) - 1;

    private ReceiverEstimatedMaxBitrate(uint senderSsrc, ulong bitrate, ReadOnlySpan<byte> ssrcs)
    {
        SenderSsrc = senderSsrc;
        Bitrate = bitrate;
        SsrcBytes = ssrcs;
    }

    public uint SenderSsrc { get; }

    /// <summary>Estimated maximum bitrate in bits per second.</summary>
    public ulong Bitrate { get; }

    public ReadOnlySpan<byte> SsrcBytes { get; }

    public int SsrcCount => SsrcBytes.Length / 4;

    public uint GetSsrc(int index) => BinaryPrimitives.ReadUInt32BigEndian(SsrcBytes[(4 * index)..]);

    public static bool TryRead(ReadOnlySpan<byte> packet, out ReceiverEstimatedMaxBitrate remb)
    {
        remb = default;
        if (!RtcpFeedbackHeader.TryRead(packet, RtcpPacketType.PayloadFeedback, RtcpPacketType.FmtApplicationLayerFeedback, out uint sender, out _, out ReadOnlySpan<byte> fci)
            || fci.Length < 8
            || BinaryPrimitives.ReadUInt32BigEndian(fci) != Identifier)
        {
            return false;
        }

        int count = fci[4];
        int exponent = fci[5] >> 2;
        int mantissa = ((fci[5] & 0x03) << 16) | (fci[6] << 8) | fci[7];
        if (fci.Length < 8 + (4 * count))
        {
            return false;
        }

        // An exponent of 46 or more overflows 64 bits; saturate, such an estimate means "unlimited" anyway.
        ulong bitrate = exponent >= 46 ? ulong.MaxValue : (ulong)mantissa << exponent;
        remb = new ReceiverEstimatedMaxBitrate(sender, bitrate, fci.Slice(8, 4 * count));
        return true;
    }

    public static int Write(Span<byte> destination, uint senderSsrc, ulong bitrate, ReadOnlySpan<uint> ssrcs)
    {
        if (ssrcs.Length > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(ssrcs), "At most 255 SSRCs fit the 8-bit count.");
        }

        int exponent = 0;
        while (bitrate >> exponent > MaxMantissa && exponent < 63)
        {
            exponent++;
        }

        ulong mantissa = bitrate >> exponent;
        int length = RtcpFeedbackHeader.Length + 8 + (4 * ssrcs.Length);
        RtcpHeader.EnsureCapacity(destination, length);
        // RFC 4585 §6.1 and the REMB draft: the media source SSRC is 0, the SSRCs are in the FCI.
        RtcpFeedbackHeader.Write(destination, RtcpPacketType.PayloadFeedback, RtcpPacketType.FmtApplicationLayerFeedback, length, senderSsrc, 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], Identifier);
        destination[16] = (byte)ssrcs.Length;
        destination[17] = (byte)((exponent << 2) | (int)((mantissa >> 16) & 0x03));
        destination[18] = (byte)(mantissa >> 8);
        destination[19] = (byte)mantissa;
        for (int i = 0; i < ssrcs.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[(20 + (4 * i))..], ssrcs[i]);
        }

        return length;
    }
}
