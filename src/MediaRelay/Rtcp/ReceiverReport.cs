using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>Receiver Report, PT 201 (RFC 3550 §6.4.2): reporter SSRC then RC report blocks.</summary>
internal readonly ref struct ReceiverReport
{
    private ReceiverReport(ReadOnlySpan<byte> body, int reportCount)
    {
        Body = body;
        ReportCount = reportCount;
    }

    public ReadOnlySpan<byte> Body { get; }

    public int ReportCount { get; }

    public uint Ssrc => BinaryPrimitives.ReadUInt32BigEndian(Body);

    public ReportBlock GetReportBlock(int index) => ReportBlock.Read(Body.Slice(4 + (index * ReportBlock.Size), ReportBlock.Size));

    public static bool TryRead(ReadOnlySpan<byte> packet, out ReceiverReport report)
    {
        report = default;
        if (!RtcpHeader.TryReadBody(packet, RtcpPacketType.ReceiverReport, -1, out RtcpHeader header, out ReadOnlySpan<byte> body)
            || body.Length < 4 + (header.Count * ReportBlock.Size))
        {
            return false;
        }

        report = new ReceiverReport(body, header.Count);
        return true;
    }

    public static int Write(Span<byte> destination, uint ssrc, ReadOnlySpan<ReportBlock> blocks)
    {
        if (blocks.Length > 31)
        {
            throw new ArgumentOutOfRangeException(nameof(blocks), "At most 31 report blocks fit the 5-bit count.");
        }

        int length = RtcpHeader.Length + 4 + (blocks.Length * ReportBlock.Size);
        RtcpHeader.EnsureCapacity(destination, length);
        RtcpHeader.Write(destination, blocks.Length, RtcpPacketType.ReceiverReport, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ssrc);
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i].Write(destination[(8 + (i * ReportBlock.Size))..]);
        }

        return length;
    }
}
