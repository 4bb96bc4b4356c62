using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtcp;

/// <summary>BYE, PT 203 (RFC 3550 §6.6): SC SSRC/CSRCs and an optional length-prefixed reason.</summary>
internal readonly ref struct Goodbye
{
    private Goodbye(ReadOnlySpan<byte> body, int sourceCount, ReadOnlySpan<byte> reason)
    {
        Body = body;
        SourceCount = sourceCount;
        Reason = reason;
    }

    public ReadOnlySpan<byte> Body { get; }

    public int SourceCount { get; }

    public ReadOnlySpan<byte> Reason { get; }

    public uint GetSsrc(int index) => BinaryPrimitives.ReadUInt32BigEndian(Body[(4 * index)..]);

    public static bool TryRead(ReadOnlySpan<byte> packet, out Goodbye goodbye)
    {
        goodbye = default;
        if (!RtcpHeader.TryReadBody(packet, RtcpPacketType.Goodbye, -1, out RtcpHeader header, out ReadOnlySpan<byte> body))
        {
            return false;
        }

        int offset = 4 * header.Count;
        if (offset > body.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> reason = default;
        if (offset < body.Length)
        {
            int length = body[offset];
            if (offset + 1 + length > body.Length)
            {
                return false;
            }

            reason = body.Slice(offset + 1, length);
        }

        goodbye = new Goodbye(body, header.Count, reason);
        return true;
    }

    public static int Write(Span<byte> destination, ReadOnlySpan<uint> ssrcs, ReadOnlySpan<byte> reason)
    {
        if (ssrcs.Length > 31 || reason.Length > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(ssrcs), "At most 31 sources and a 255-byte reason.");
        }

        int length = RtcpHeader.Length + (4 * ssrcs.Length);
        int reasonStart = length;
        if (!reason.IsEmpty)
        {
            // The reason is padded with zero bytes to the next 32-bit boundary (§6.6).
            length = (length + 1 + reason.Length + 3) & ~3;
        }

        RtcpHeader.EnsureCapacity(destination, length);
        RtcpHeader.Write(destination, ssrcs.Length, RtcpPacketType.Goodbye, length);
        for (int i = 0; i < ssrcs.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[(4 + (4 * i))..], ssrcs[i]);
        }

        if (!reason.IsEmpty)
        {
            destination[reasonStart..length].Clear();
            destination[reasonStart] = (byte)reason.Length;
            reason.CopyTo(destination[(reasonStart + 1)..]);
        }

        return length;
    }
}
