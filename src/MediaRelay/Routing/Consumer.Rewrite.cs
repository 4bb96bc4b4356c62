using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Teletherapy.MediaRelay.Rtcp;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>How a consumer writes each forwarded packet into its subscriber's numbering and header extensions.</summary>
internal sealed partial class Consumer
{
    /// <summary>
    /// Writes the packet as this subscriber must see it: our SSRC, its payload type, our sequence and timestamp,
    /// then a header extension holding only what the subscriber negotiated, under its ids (RFC 8285 §5): the MID
    /// of the subscriber's m-line (the publisher's MID names another m-line of another session, RFC 9143 §15),
    /// the publisher's audio level, and abs-send-time and the transport-wide sequence, which are ours to set for
    /// this hop. For RTX (<paramref name="originalSequence"/> ≥ 0) the original sequence number precedes the payload
    /// (RFC 4588 §4). The payload and padding follow unchanged but for VP8's PictureID/TL0PICIDX; only the newest packet
    /// (<paramref name="newest"/>) sets the PictureID the next switch continues from. Returns the length.
    /// </summary>
    private int WritePacket(ReadOnlySpan<byte> packet, in RtpHeader header, Span<byte> destination, uint ssrc, byte payloadType, ushort sequence, uint timestamp, int originalSequence, bool newest)
    {
        var fixedLength = RtpHeader.FixedLength + (4 * header.CsrcCount);
        packet[..fixedLength].CopyTo(destination);
        destination[0] &= 0xEF; // X is set again below if any element is written
        RtpHeaderRewriter.SetSsrc(destination, ssrc);
        RtpHeaderRewriter.SetPayloadType(destination, payloadType);
        RtpHeaderRewriter.SetSequenceNumber(destination, sequence);
        RtpHeaderRewriter.SetTimestamp(destination, timestamp);

        var ids = Parameters.Extensions;
        var start = fixedLength + 4;
        var offset = start;
        if (ids.Mid is > 0 and <= 14 && _mid.Length is > 0 and <= 16)
        {
            offset = WriteElement(destination, offset, ids.Mid, _mid);
        }

        var playoutDelay = Volatile.Read(ref _playoutDelayElement);
        if (playoutDelay >= 0 && ids.PlayoutDelay is > 0 and <= 14)
        {
            Span<byte> value = [(byte)(playoutDelay >> 16), (byte)(playoutDelay >> 8), (byte)playoutDelay];
            offset = WriteElement(destination, offset, ids.PlayoutDelay, value);
        }

        if (header.HasExtension)
        {
            foreach (var element in header.Extensions)
            {
                var to = _extensionIdMap[element.Id];
                if (to is 0 or > 14 || to == ids.Mid || element.Value.Length is 0 or > 16 || offset + 17 > start + MaxExtensionBytes)
                {
                    continue;
                }

                var valueOffset = offset + 1;
                offset = WriteElement(destination, offset, to, element.Value);
                if (to == ids.TransportWideCc && element.Value.Length == 2)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(destination[valueOffset..], _transport.NextTransportSequence());
                }
                else if (to == ids.AbsSendTime && element.Value.Length == 3)
                {
                    var now = AbsSendTime.Now();
                    destination[valueOffset] = (byte)(now >> 16);
                    destination[valueOffset + 1] = (byte)(now >> 8);
                    destination[valueOffset + 2] = (byte)now;
                }
            }
        }

        if (offset == start)
        {
            offset = fixedLength;
        }
        else
        {
            // RFC 8285 §4.2: one-byte form, padded with zero bytes to a 32-bit boundary.
            var padded = (offset + 3) & ~3;
            destination[offset..padded].Clear();
            offset = padded;
            destination[0] |= 0x10;
            BinaryPrimitives.WriteUInt16BigEndian(destination[fixedLength..], RtpHeaderExtensionEnumerator.OneByteProfile);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(fixedLength + 2)..], (ushort)((offset - start) / 4));
        }

        if (originalSequence >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], (ushort)originalSequence);
            offset += 2;
        }

        var rest = packet[header.HeaderLength..];
        rest.CopyTo(destination[offset..]);
        if (_isVp8 && header.PayloadLength > 0)
        {
            RewriteVp8(destination.Slice(offset, header.PayloadLength), remember: newest);
        }

        return offset + rest.Length;
    }

    /// <summary>RFC 7741 §4.2: PictureID and TL0PICIDX continue across switches; offsets are 0 on a stream never switched.</summary>
    private void RewriteVp8(Span<byte> payload, bool remember)
    {
        if (!Vp8PayloadDescriptor.TryRead(payload, out var descriptor))
        {
            return;
        }

        if (descriptor.HasPictureId)
        {
            var pictureId = (descriptor.PictureId + _pictureIdOffset) & 0x7FFF;
            if (_pictureIdOffset != 0)
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
            var tl0 = (byte)(descriptor.Tl0PicIdx + _tl0Offset);
            if (_tl0Offset != 0)
            {
                Vp8PayloadDescriptor.TrySetTl0PicIdx(payload, tl0);
            }

            if (remember)
            {
                _lastTl0PicIdx = tl0;
            }
        }
    }

    private static int WriteElement(Span<byte> destination, int offset, int id, ReadOnlySpan<byte> value)
    {
        destination[offset] = (byte)((id << 4) | (value.Length - 1));
        value.CopyTo(destination[(offset + 1)..]);
        return offset + 1 + value.Length;
    }
}
