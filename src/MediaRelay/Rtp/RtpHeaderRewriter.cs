using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtp;

/// <summary>
/// In-place edits a Consumer makes to a forwarded packet: its own SSRC, sequence and timestamp space, the
/// subscriber's payload type and extension ids (RFC 8285 §5: ids are negotiated per peer).
/// The fixed-header setters expect a packet already accepted by <see cref="RtpHeader.TryRead"/>.
/// </summary>
internal static class RtpHeaderRewriter
{
    public static void SetMarker(Span<byte> packet, bool marker) =>
        packet[1] = (byte)((packet[1] & 0x7F) | (marker ? 0x80 : 0));

    public static void SetPayloadType(Span<byte> packet, byte payloadType) =>
        packet[1] = (byte)((packet[1] & 0x80) | (payloadType & 0x7F));

    public static void SetSequenceNumber(Span<byte> packet, ushort sequenceNumber) =>
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], sequenceNumber);

    public static void SetTimestamp(Span<byte> packet, uint timestamp) =>
        BinaryPrimitives.WriteUInt32BigEndian(packet[4..], timestamp);

    public static void SetSsrc(Span<byte> packet, uint ssrc) =>
        BinaryPrimitives.WriteUInt32BigEndian(packet[8..], ssrc);

    /// <summary>
    /// Maps every extension id through <paramref name="idMap"/> (indexed by the publisher's id, 256 entries).
    /// An entry of 0, or an id a one-byte element cannot carry (&gt; 14), turns the element into padding bytes
    /// (RFC 8285 §4.2: zero bytes are padding), so the packet length never changes.
    /// </summary>
    public static bool RewriteExtensionIds(Span<byte> packet, ReadOnlySpan<byte> idMap)
    {
        if (idMap.Length < 256 || !RtpHeader.TryRead(packet, out RtpHeader header) || !header.HasExtension)
        {
            return false;
        }

        bool oneByte = RtpHeaderExtensionEnumerator.IsOneByteProfile(header.ExtensionProfile);
        foreach (RtpHeaderExtension element in header.Extensions)
        {
            byte newId = idMap[element.Id];
            if (newId == 0 || (oneByte && newId > 14))
            {
                packet.Slice(element.ElementOffset, element.ElementLength).Clear();
            }
            else if (oneByte)
            {
                packet[element.ElementOffset] = (byte)((newId << 4) | (element.Value.Length - 1));
            }
            else
            {
                packet[element.ElementOffset] = newId;
            }
        }

        return true;
    }

    /// <summary>
    /// Overwrites the value of the element with this id when it has the same length (e.g. the transport-wide
    /// sequence number or abs-send-time, which the SFU sets on send). False when absent or of another size.
    /// </summary>
    public static bool TrySetExtensionValue(Span<byte> packet, byte id, ReadOnlySpan<byte> value)
    {
        if (!RtpHeader.TryRead(packet, out RtpHeader header))
        {
            return false;
        }

        foreach (RtpHeaderExtension element in header.Extensions)
        {
            if (element.Id == id)
            {
                if (element.Value.Length != value.Length)
                {
                    return false;
                }

                value.CopyTo(packet.Slice(element.ValueOffset, value.Length));
                return true;
            }
        }

        return false;
    }

    /// <summary>Sets a 16-bit transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions §2).</summary>
    public static bool TrySetTransportSequenceNumber(Span<byte> packet, byte id, ushort sequenceNumber)
    {
        Span<byte> value = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(value, sequenceNumber);
        return TrySetExtensionValue(packet, id, value);
    }

    /// <summary>Sets abs-send-time: 24 bits, 6.18 fixed-point seconds.</summary>
    public static bool TrySetAbsSendTime(Span<byte> packet, byte id, uint absSendTime24)
    {
        Span<byte> value = stackalloc byte[3];
        value[0] = (byte)(absSendTime24 >> 16);
        value[1] = (byte)(absSendTime24 >> 8);
        value[2] = (byte)absSendTime24;
        return TrySetExtensionValue(packet, id, value);
    }
}
