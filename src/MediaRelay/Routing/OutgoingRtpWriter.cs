using System.Buffers.Binary;
using Teletherapy.MediaRelay.Negotiation;
using Teletherapy.MediaRelay.Rtp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// Writes a publisher's packet as one subscriber must see it: our SSRC, its payload type, our sequence and timestamp, then
/// a header extension holding only what the subscriber negotiated, under its ids (RFC 8285 §5): the MID of the
/// subscriber's m-line (the publisher's MID names another m-line of another session, RFC 9143 §15), the playout delay we
/// ask for, the publisher's audio level, and abs-send-time and the transport-wide sequence, which are ours to set for this
/// hop. rid and repaired-rid describe the publisher's encodings, and a subscriber receives one plain stream, so they are
/// dropped. Keeps no state of its own but the id map: used under the consumer's lock, for its <see cref="Vp8Numbering"/>.
/// </summary>
internal sealed class OutgoingRtpWriter
{
    /// <summary>The largest extension block we write: room for every element we negotiate, at most 16 bytes each.</summary>
    public const int MaxExtensionBytes = 64;

    /// <summary>How much longer than the publisher's our packet can be: a full extension block plus its 4-byte header, and RTX's original sequence number (RFC 4588 §4).</summary>
    public const int MaxAddedHeaderBytes = MaxExtensionBytes + 4 + 2;

    private readonly byte[] _extensionIdMap = new byte[256];
    private readonly byte[] _mid;
    private readonly HeaderExtensionIds _ids;
    private readonly SubscriberTransport _transport;
    private readonly PlayoutDelaySetting _playoutDelay;
    private readonly RoutingClock _clock;
    private readonly Vp8Numbering? _vp8;

    /// <summary>
    /// A writer from the publisher's extension ids to the subscriber's. <paramref name="vp8"/>, for a VP8 stream, rewrites
    /// the payload descriptor's picture numbering.
    /// </summary>
    public OutgoingRtpWriter(HeaderExtensionIds publisher, HeaderExtensionIds subscriber, string mid, SubscriberTransport transport, PlayoutDelaySetting playoutDelay, Vp8Numbering? vp8, RoutingClock? clock = null)
    {
        _clock = clock ?? RoutingClock.System;
        _ids = subscriber;
        _mid = System.Text.Encoding.ASCII.GetBytes(mid);
        _transport = transport;
        _playoutDelay = playoutDelay;
        _vp8 = vp8;
        Map(publisher.AbsSendTime, subscriber.AbsSendTime);
        Map(publisher.TransportWideCc, subscriber.TransportWideCc);
        Map(publisher.AudioLevel, subscriber.AudioLevel);
    }

    /// <summary>
    /// Writes <paramref name="packet"/> into <paramref name="destination"/> (room for <see cref="MaxAddedHeaderBytes"/> more)
    /// with the header fields of <paramref name="rtp"/>. For RTX the original sequence number precedes the payload
    /// (RFC 4588 §4). The payload and padding follow unchanged but for VP8's PictureID/TL0PICIDX. Returns the length.
    /// </summary>
    public int Write(ReadOnlySpan<byte> packet, in RtpHeader header, Span<byte> destination, in OutgoingRtp rtp)
    {
        var fixedLength = RtpHeader.FixedLength + (4 * header.CsrcCount);
        packet[..fixedLength].CopyTo(destination);
        destination[0] &= 0xEF; // X is set again below if any element is written
        RtpHeaderRewriter.SetSsrc(destination, rtp.Ssrc);
        RtpHeaderRewriter.SetPayloadType(destination, rtp.PayloadType);
        RtpHeaderRewriter.SetSequenceNumber(destination, rtp.Sequence);
        RtpHeaderRewriter.SetTimestamp(destination, rtp.Timestamp);

        var offset = WriteExtensions(header, destination, fixedLength);
        if (rtp.OriginalSequence >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], (ushort)rtp.OriginalSequence);
            offset += 2;
        }

        var rest = packet[header.HeaderLength..];
        rest.CopyTo(destination[offset..]);
        if (_vp8 is not null && header.PayloadLength > 0)
        {
            _vp8.Rewrite(destination.Slice(offset, header.PayloadLength), rtp.Vp8, remember: rtp.Newest);
        }

        return offset + rest.Length;
    }

    /// <summary>Writes the extension block after the fixed header (RFC 8285 §4.2, one-byte form); returns where the payload goes.</summary>
    private int WriteExtensions(in RtpHeader header, Span<byte> destination, int fixedLength)
    {
        var ids = _ids;
        var start = fixedLength + 4;
        var offset = start;
        if (ids.Mid is > 0 and <= 14 && _mid.Length is > 0 and <= 16)
        {
            offset = WriteElement(destination, offset, ids.Mid, _mid);
        }

        var playoutDelay = _playoutDelay.Element;
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
                    var now = AbsSendTime.At(_clock.Now);
                    destination[valueOffset] = (byte)(now >> 16);
                    destination[valueOffset + 1] = (byte)(now >> 8);
                    destination[valueOffset + 2] = (byte)now;
                }
            }
        }

        if (offset == start)
        {
            return fixedLength;
        }

        // One-byte form, padded with zero bytes to a 32-bit boundary.
        var padded = (offset + 3) & ~3;
        destination[offset..padded].Clear();
        destination[0] |= 0x10;
        BinaryPrimitives.WriteUInt16BigEndian(destination[fixedLength..], RtpHeaderExtensionEnumerator.OneByteProfile);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(fixedLength + 2)..], (ushort)((padded - start) / 4));
        return padded;
    }

    private static int WriteElement(Span<byte> destination, int offset, int id, ReadOnlySpan<byte> value)
    {
        destination[offset] = (byte)((id << 4) | (value.Length - 1));
        value.CopyTo(destination[(offset + 1)..]);
        return offset + 1 + value.Length;
    }

    private void Map(int from, int to)
    {
        if (from is > 0 and < 256 && to is > 0 and < 256)
        {
            _extensionIdMap[from] = (byte)to;
        }
    }
}

/// <summary>
/// The header of one packet we send: SSRC, payload type, sequence number and timestamp; the VP8 offsets its payload is
/// rewritten with, and whether it is the newest sent (<see cref="Vp8Numbering.Rewrite"/> remembers only that one's);
/// for RTX the original sequence number (−1: none).
/// </summary>
internal readonly record struct OutgoingRtp(uint Ssrc, byte PayloadType, ushort Sequence, uint Timestamp, Vp8Offsets Vp8, bool Newest, int OriginalSequence = -1);
