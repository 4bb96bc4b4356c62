namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>PLI, PT 206 FMT 1 (RFC 4585 §6.3.1): no FCI; asks the sender of the media SSRC for a keyframe.</summary>
internal readonly ref struct PictureLossIndication
{
    private PictureLossIndication(uint senderSsrc, uint mediaSsrc)
    {
        SenderSsrc = senderSsrc;
        MediaSsrc = mediaSsrc;
    }

    public uint SenderSsrc { get; }

    public uint MediaSsrc { get; }

    public static bool TryRead(ReadOnlySpan<byte> packet, out PictureLossIndication pli)
    {
        pli = default;
        if (!RtcpFeedbackHeader.TryRead(packet, RtcpPacketType.PayloadFeedback, RtcpPacketType.FmtPictureLossIndication, out uint sender, out uint media, out _))
        {
            return false;
        }

        pli = new PictureLossIndication(sender, media);
        return true;
    }

    public static int Write(Span<byte> destination, uint senderSsrc, uint mediaSsrc)
    {
        RtcpHeader.EnsureCapacity(destination, RtcpFeedbackHeader.Length);
        RtcpFeedbackHeader.Write(destination, RtcpPacketType.PayloadFeedback, RtcpPacketType.FmtPictureLossIndication, RtcpFeedbackHeader.Length, senderSsrc, mediaSsrc);
        return RtcpFeedbackHeader.Length;
    }
}
