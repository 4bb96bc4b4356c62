using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtp;

/// <summary>
/// The fixed RTP header, CSRC list and header extension read in place (RFC 3550 §5.1, §5.3.1).
/// <see cref="TryRead"/> checks every length against the buffer, so the offsets it exposes are always inside it.
/// </summary>
internal readonly ref struct RtpHeader
{
    public const int FixedLength = 12;
    public const int Version2 = 2;

    private RtpHeader(ReadOnlySpan<byte> packet, int headerLength, int extensionOffset, int extensionLength, int paddingLength)
    {
        Packet = packet;
        HeaderLength = headerLength;
        ExtensionOffset = extensionOffset;
        ExtensionLength = extensionLength;
        PaddingLength = paddingLength;
    }

    public ReadOnlySpan<byte> Packet { get; }

    public int Version => Packet[0] >> 6;

    public bool HasPadding => (Packet[0] & 0x20) != 0;

    public bool HasExtension => (Packet[0] & 0x10) != 0;

    public int CsrcCount => Packet[0] & 0x0F;

    public bool Marker => (Packet[1] & 0x80) != 0;

    public byte PayloadType => (byte)(Packet[1] & 0x7F);

    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(Packet[2..]);

    public uint Timestamp => BinaryPrimitives.ReadUInt32BigEndian(Packet[4..]);

    public uint Ssrc => BinaryPrimitives.ReadUInt32BigEndian(Packet[8..]);

    /// <summary>Fixed header, CSRCs and header extension: where the payload starts.</summary>
    public int HeaderLength { get; }

    /// <summary>Offset of the extension elements (after the 4-byte profile/length word); 0 when absent.</summary>
    public int ExtensionOffset { get; }

    /// <summary>Length in bytes of the extension elements, excluding the profile/length word.</summary>
    public int ExtensionLength { get; }

    /// <summary>The "defined by profile" field: 0xBEDE for one-byte, 0x100X for two-byte elements (RFC 8285 §4).</summary>
    public ushort ExtensionProfile =>
        HasExtension ? BinaryPrimitives.ReadUInt16BigEndian(Packet[(ExtensionOffset - 4)..]) : (ushort)0;

    public ReadOnlySpan<byte> ExtensionData => Packet.Slice(ExtensionOffset, ExtensionLength);

    public int PaddingLength { get; }

    public int PayloadOffset => HeaderLength;

    public int PayloadLength => Packet.Length - HeaderLength - PaddingLength;

    public ReadOnlySpan<byte> Payload => Packet.Slice(PayloadOffset, PayloadLength);

    public RtpHeaderExtensionEnumerator Extensions =>
        new(HasExtension ? ExtensionProfile : (ushort)0, HasExtension ? ExtensionData : default, ExtensionOffset);

    public uint GetCsrc(int index) => BinaryPrimitives.ReadUInt32BigEndian(Packet[(FixedLength + (4 * index))..]);

    public static bool TryRead(ReadOnlySpan<byte> packet, out RtpHeader header)
    {
        header = default;
        if (packet.Length < FixedLength || packet[0] >> 6 != Version2)
        {
            return false;
        }

        int length = FixedLength + (4 * (packet[0] & 0x0F));
        int extensionOffset = 0;
        int extensionLength = 0;
        if ((packet[0] & 0x10) != 0)
        {
            // RFC 3550 §5.3.1: a 16-bit profile field, then the extension length in 32-bit words.
            if (length + 4 > packet.Length)
            {
                return false;
            }

            extensionLength = 4 * BinaryPrimitives.ReadUInt16BigEndian(packet[(length + 2)..]);
            extensionOffset = length + 4;
            length = extensionOffset + extensionLength;
        }

        if (length > packet.Length)
        {
            return false;
        }

        int padding = 0;
        if ((packet[0] & 0x20) != 0)
        {
            // RFC 3550 §5.1: the last octet counts the padding octets including itself, so it is never 0.
            padding = packet[^1];
            if (padding == 0 || length + padding > packet.Length)
            {
                return false;
            }
        }

        header = new RtpHeader(packet, length, extensionOffset, extensionLength, padding);
        return true;
    }

    /// <summary>Finds the first extension element with this local id (RFC 8285 §4).</summary>
    public bool TryGetExtension(byte id, out ReadOnlySpan<byte> value)
    {
        foreach (RtpHeaderExtension element in Extensions)
        {
            if (element.Id == id)
            {
                value = element.Value;
                return true;
            }
        }

        value = default;
        return false;
    }
}
