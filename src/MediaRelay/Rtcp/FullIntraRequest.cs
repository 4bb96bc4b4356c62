using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>
/// FIR, PT 206 FMT 4 (RFC 5104 §4.3.1): FCI entries of target SSRC and a command sequence number, which the
/// requester increments per new request so repeats of one request are recognised (§4.3.1.1).
/// </summary>
internal readonly ref struct FullIntraRequest
{
    private const int EntryLength = 8;

    private FullIntraRequest(uint senderSsrc, ReadOnlySpan<byte> fci)
    {
        SenderSsrc = senderSsrc;
        Fci = fci;
    }

    public uint SenderSsrc { get; }

    public ReadOnlySpan<byte> Fci { get; }

    public int EntryCount => Fci.Length / EntryLength;

    public uint GetSsrc(int index) => BinaryPrimitives.ReadUInt32BigEndian(Fci[(index * EntryLength)..]);

    public byte GetSequenceNumber(int index) => Fci[(index * EntryLength) + 4];

    public static bool TryRead(ReadOnlySpan<byte> packet, out FullIntraRequest fir)
    {
        fir = default;
        if (!RtcpFeedbackHeader.TryRead(packet, RtcpPacketType.PayloadFeedback, RtcpPacketType.FmtFullIntraRequest, out uint sender, out _, out ReadOnlySpan<byte> fci)
            || fci.Length < EntryLength)
        {
            return false;
        }

        fir = new FullIntraRequest(sender, fci[..(fci.Length / EntryLength * EntryLength)]);
        return true;
    }

    /// <summary>One entry; the media source SSRC field is 0 as RFC 5104 §4.3.1.2 requires.</summary>
    public static int Write(Span<byte> destination, uint senderSsrc, uint targetSsrc, byte sequenceNumber)
    {
        const int length = RtcpFeedbackHeader.Length + EntryLength;
        RtcpHeader.EnsureCapacity(destination, length);
        RtcpFeedbackHeader.Write(destination, RtcpPacketType.PayloadFeedback, RtcpPacketType.FmtFullIntraRequest, length, senderSsrc, 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], targetSsrc);
        destination[16] = sequenceNumber;
        destination[17..20].Clear();
        return length;
    }
}
