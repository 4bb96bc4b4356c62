using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtp;

/// <summary>
/// The VP8 payload descriptor (RFC 7741 §4.2) read in place, with the offsets of PictureID and TL0PICIDX so a
/// Consumer can keep them continuous across simulcast switches by rewriting them in place.
/// </summary>
internal readonly ref struct Vp8PayloadDescriptor
{
    private Vp8PayloadDescriptor(
        ReadOnlySpan<byte> payload,
        int length,
        int pictureIdOffset,
        int tl0PicIdxOffset,
        int tidKeyIdxOffset)
    {
        Payload = payload;
        Length = length;
        PictureIdOffset = pictureIdOffset;
        Tl0PicIdxOffset = tl0PicIdxOffset;
        TidKeyIdxOffset = tidKeyIdxOffset;
    }

    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>Length of the descriptor; the VP8 payload header follows it.</summary>
    public int Length { get; }

    public bool HasExtendedControlBits => (Payload[0] & 0x80) != 0;

    public bool IsNonReference => (Payload[0] & 0x20) != 0;

    public bool IsStartOfPartition => (Payload[0] & 0x10) != 0;

    public int PartitionIndex => Payload[0] & 0x07;

    /// <summary>Offset of PictureID in the payload, or -1 when I=0.</summary>
    public int PictureIdOffset { get; }

    public bool HasPictureId => PictureIdOffset >= 0;

    /// <summary>M bit: PictureID is 15 bits (two bytes) rather than 7.</summary>
    public bool HasLongPictureId => HasPictureId && (Payload[PictureIdOffset] & 0x80) != 0;

    public int PictureId => !HasPictureId
        ? -1
        : HasLongPictureId
            ? ((Payload[PictureIdOffset] & 0x7F) << 8) | Payload[PictureIdOffset + 1]
            : Payload[PictureIdOffset] & 0x7F;

    /// <summary>Offset of TL0PICIDX, or -1 when L=0.</summary>
    public int Tl0PicIdxOffset { get; }

    public bool HasTl0PicIdx => Tl0PicIdxOffset >= 0;

    public int Tl0PicIdx => HasTl0PicIdx ? Payload[Tl0PicIdxOffset] : -1;

    /// <summary>Offset of the TID|Y|KEYIDX byte, or -1 when neither T nor K is set.</summary>
    public int TidKeyIdxOffset { get; }

    public bool HasTemporalLayerIndex => HasExtendedControlBits && (Payload[1] & 0x20) != 0;

    public int TemporalLayerIndex => HasTemporalLayerIndex ? Payload[TidKeyIdxOffset] >> 6 : -1;

    public bool IsLayerSync => HasTemporalLayerIndex && (Payload[TidKeyIdxOffset] & 0x20) != 0;

    public bool HasKeyIndex => HasExtendedControlBits && (Payload[1] & 0x10) != 0;

    public int KeyIndex => HasKeyIndex ? Payload[TidKeyIdxOffset] & 0x1F : -1;

    /// <summary>
    /// RFC 7741 §4.3: a keyframe begins in the packet with S=1 and partition index 0, whose first VP8 payload
    /// byte has the inverse key frame flag (bit 0) cleared.
    /// </summary>
    public bool IsKeyframe =>
        IsStartOfPartition && PartitionIndex == 0 && Payload.Length > Length && (Payload[Length] & 0x01) == 0;

    public static bool TryRead(ReadOnlySpan<byte> payload, out Vp8PayloadDescriptor descriptor)
    {
        descriptor = default;
        if (payload.IsEmpty)
        {
            return false;
        }

        int offset = 1;
        int pictureId = -1;
        int tl0 = -1;
        int tidKey = -1;
        if ((payload[0] & 0x80) != 0)
        {
            if (payload.Length < 2)
            {
                return false;
            }

            byte x = payload[1];
            offset = 2;
            if ((x & 0x80) != 0)
            {
                if (offset >= payload.Length)
                {
                    return false;
                }

                pictureId = offset;
                offset += (payload[offset] & 0x80) != 0 ? 2 : 1;
            }

            if ((x & 0x40) != 0)
            {
                tl0 = offset;
                offset++;
            }

            if ((x & 0x30) != 0)
            {
                tidKey = offset;
                offset++;
            }

            if (offset > payload.Length)
            {
                return false;
            }
        }

        descriptor = new Vp8PayloadDescriptor(payload, offset, pictureId, tl0, tidKey);
        return true;
    }

    /// <summary>
    /// The picture size a keyframe's first packet announces (RFC 6386 §9.1: after the 3-byte frame tag, the start code
    /// 0x9d 0x01 0x2a, then the width and height as 16-bit little-endian values whose low 14 bits are the size in pixels
    /// and top 2 bits an upscaling hint). False for any other packet, or a size of 0.
    /// </summary>
    public static bool TryReadKeyFrameSize(ReadOnlySpan<byte> payload, out int width, out int height)
    {
        (width, height) = (0, 0);
        if (!TryRead(payload, out Vp8PayloadDescriptor descriptor) || !descriptor.IsKeyframe)
        {
            return false;
        }

        var frame = payload[descriptor.Length..];
        if (frame.Length < 10 || frame[3] != 0x9D || frame[4] != 0x01 || frame[5] != 0x2A)
        {
            return false;
        }

        width = BinaryPrimitives.ReadUInt16LittleEndian(frame[6..]) & 0x3FFF;
        height = BinaryPrimitives.ReadUInt16LittleEndian(frame[8..]) & 0x3FFF;
        return width > 0 && height > 0;
    }

    /// <summary>Convenience for the keyframe check on a payload that may not even hold a descriptor.</summary>
    public static bool IsKeyframePayload(ReadOnlySpan<byte> payload) =>
        TryRead(payload, out Vp8PayloadDescriptor descriptor) && descriptor.IsKeyframe;

    /// <summary>
    /// Rewrites PictureID keeping the width the sender chose (7 or 15 bits; RFC 7741 §4.2 M bit), wrapping the
    /// value to that width. False when the packet has no PictureID.
    /// </summary>
    public static bool TrySetPictureId(Span<byte> payload, int pictureId)
    {
        if (!TryRead(payload, out Vp8PayloadDescriptor descriptor) || !descriptor.HasPictureId)
        {
            return false;
        }

        int offset = descriptor.PictureIdOffset;
        if (descriptor.HasLongPictureId)
        {
            payload[offset] = (byte)(0x80 | ((pictureId >> 8) & 0x7F));
            payload[offset + 1] = (byte)pictureId;
        }
        else
        {
            payload[offset] = (byte)(pictureId & 0x7F);
        }

        return true;
    }

    public static bool TrySetTl0PicIdx(Span<byte> payload, byte tl0PicIdx)
    {
        if (!TryRead(payload, out Vp8PayloadDescriptor descriptor) || !descriptor.HasTl0PicIdx)
        {
            return false;
        }

        payload[descriptor.Tl0PicIdxOffset] = tl0PicIdx;
        return true;
    }
}
