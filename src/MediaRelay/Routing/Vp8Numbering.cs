using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// VP8's own picture numbering in one subscriber's stream (RFC 7741 §4.2): the PictureID and TL0PICIDX of the payload
/// descriptor must continue across a layer switch or a restart like the RTP sequence numbers, or the decoder takes the
/// jump for lost pictures. A switch maps the new stream onto the next values after the last ones sent; the offsets stay 0
/// on a stream never switched, so its payloads go out untouched. Not thread-safe: used under the consumer's lock.
/// </summary>
internal sealed class Vp8Numbering
{
    private int _lastPictureId = -1;
    private int _lastTl0PicIdx = -1;

    /// <summary>The offsets packets are rewritten with now (a retransmission uses those its packet was first sent with).</summary>
    public Vp8Offsets Offsets { get; private set; }

    /// <summary>The stream that starts with <paramref name="payload"/> continues from the last PictureID and TL0PICIDX sent.</summary>
    public void Resynchronize(ReadOnlySpan<byte> payload)
    {
        if (!Vp8PayloadDescriptor.TryRead(payload, out var descriptor))
        {
            return;
        }

        var (pictureIdOffset, tl0Offset) = (Offsets.PictureId, Offsets.Tl0PicIdx);
        if (descriptor.HasPictureId)
        {
            pictureIdOffset = _lastPictureId < 0 ? (ushort)0 : (ushort)((_lastPictureId + 1 - descriptor.PictureId) & 0x7FFF);
        }

        if (descriptor.HasTl0PicIdx)
        {
            tl0Offset = _lastTl0PicIdx < 0 ? (byte)0 : (byte)(_lastTl0PicIdx + 1 - descriptor.Tl0PicIdx);
        }

        Offsets = new Vp8Offsets(pictureIdOffset, tl0Offset);
    }

    /// <summary>
    /// Rewrites the payload descriptor in place with <paramref name="offsets"/>. <paramref name="remember"/> (the newest
    /// packet only) makes its values the ones the next switch continues from.
    /// </summary>
    public void Rewrite(Span<byte> payload, Vp8Offsets offsets, bool remember)
    {
        if (!Vp8PayloadDescriptor.TryRead(payload, out var descriptor))
        {
            return;
        }

        if (descriptor.HasPictureId)
        {
            var pictureId = (descriptor.PictureId + offsets.PictureId) & 0x7FFF;
            if (offsets.PictureId != 0)
            {
                Vp8PayloadDescriptor.TrySetPictureId(payload, pictureId);
            }

            if (remember)
            {
                _lastPictureId = descriptor.HasLongPictureId ? pictureId : pictureId & 0x7F;
            }
        }

        if (descriptor.HasTl0PicIdx)
        {
            var tl0 = (byte)(descriptor.Tl0PicIdx + offsets.Tl0PicIdx);
            if (offsets.Tl0PicIdx != 0)
            {
                Vp8PayloadDescriptor.TrySetTl0PicIdx(payload, tl0);
            }

            if (remember)
            {
                _lastTl0PicIdx = tl0;
            }
        }
    }
}

/// <summary>What is added to a VP8 payload's PictureID (mod 2^15) and TL0PICIDX (mod 2^8) on the way to one subscriber.</summary>
internal readonly record struct Vp8Offsets(ushort PictureId, byte Tl0PicIdx);
