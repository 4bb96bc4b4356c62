using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>Sender Report, PT 200 (RFC 3550 §6.4.1): sender info then RC report blocks.</summary>
internal readonly ref struct SenderReport
{
    private const int SenderInfoLength = 24;

    private SenderReport(ReadOnlySpan<byte> body, int reportCount)
    {
        Body = body;
        ReportCount = reportCount;
    }

    public ReadOnlySpan<byte> Body { get; }

    public int ReportCount { get; }

    public uint Ssrc => BinaryPrimitives.ReadUInt32BigEndian(Body);

    /// <summary>64-bit NTP timestamp; its middle 32 bits become LSR in the peer's report blocks (§6.4.1).</summary>
    public ulong NtpTimestamp => BinaryPrimitives.ReadUInt64BigEndian(Body[4..]);

    public uint RtpTimestamp => BinaryPrimitives.ReadUInt32BigEndian(Body[12..]);

    public uint PacketCount => BinaryPrimitives.ReadUInt32BigEndian(Body[16..]);

    public uint OctetCount => BinaryPrimitives.ReadUInt32BigEndian(Body[20..]);

    public ReportBlock GetReportBlock(int index) =>
        ReportBlock.Read(Body.Slice(SenderInfoLength + (index * ReportBlock.Size), ReportBlock.Size));

    public static bool TryRead(ReadOnlySpan<byte> packet, out SenderReport report)
    {
        report = default;
        if (!RtcpHeader.TryReadBody(packet, RtcpPacketType.SenderReport, -1, out RtcpHeader header, out ReadOnlySpan<byte> body)
            || body.Length < SenderInfoLength + (header.Count * ReportBlock.Size))
        {
            return false;
        }

        report = new SenderReport(body, header.Count);
        return true;
    }

    public static int Write(
        Span<byte> destination,
        uint ssrc,
        ulong ntpTimestamp,
        uint rtpTimestamp,
        uint packetCount,
        uint octetCount,
        ReadOnlySpan<ReportBlock> blocks)
    {
        if (blocks.Length > 31)
        {
            throw new ArgumentOutOfRangeException(nameof(blocks), "At most 31 report blocks fit the 5-bit count.");
        }

        int length = RtcpHeader.Length + SenderInfoLength + (blocks.Length * ReportBlock.Size);
        RtcpHeader.EnsureCapacity(destination, length);
        RtcpHeader.Write(destination, blocks.Length, RtcpPacketType.SenderReport, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ssrc);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], ntpTimestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], rtpTimestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..], packetCount);
        BinaryPrimitives.WriteUInt32BigEndian(destination[24..], octetCount);
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i].Write(destination[(28 + (i * ReportBlock.Size))..]);
        }

        return length;
    }
}
