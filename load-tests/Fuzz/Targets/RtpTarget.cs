using System.Buffers.Binary;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Srtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Fuzz.Targets;

/// <summary>
/// RTP after SRTP (RFC 3550 §5.1) with header extensions (RFC 8285 one- and two-byte forms): what
/// TransportRouting.OnRtp and the forwarding path read and rewrite in place, and the header walk of SRTP.
/// </summary>
internal sealed class RtpTarget : FuzzTarget
{
    private static readonly byte[] IdMap = BuildIdMap();
    private readonly byte[] _copy = new byte[PacketMutator.MaxLength];

    public override string Name => "rtp";

    public override string EntryPoints =>
        "Demultiplexer.Classify, RtpHeader.TryRead, RtpHeaderExtensionEnumerator, RtpHeader.TryGetExtension/GetCsrc, " +
        "RtpHeaderRewriter.RewriteExtensionIds/TrySetExtensionValue/TrySetTransportSequenceNumber/TrySetAbsSendTime/Set*, " +
        "SrtpPacketLayout.TryReadRtp, H264Payload.IsKeyframe, Vp8PayloadDescriptor.IsKeyframePayload";

    // The extension length without CSRCs, and with one.
    public override int[] LengthOffsets => [14, 18];

    public override IEnumerable<byte[]> Seeds(Corpus corpus) => [.. corpus.Load(Name), .. Written()];

    /// <summary>Packets made by the relay's own writers, and by hand where they write no such packet.</summary>
    private static IEnumerable<byte[]> Written()
    {
        // Hand-made: two-byte extensions with padding between elements, one-byte with CSRC, H.264 STAP-A, padding.
        yield return Bytes.Hex("90600001 00000001 00000001 10000002 010000C8 030A0B0C 90F09234 56A51002 00");
        yield return Bytes.Hex("A0600001 00000001 00000001 78000209 F0000367 42000002 68CE0000 03");
        yield return Bytes.Hex("B1600001 00000001 00000001 0000000A BEDE0002 10012202 03040000 DEAD0000 03");
        byte[] buffer = new byte[128];
        var writer = new RtpHeaderWriter(buffer, 96, 1, 2, 3, true);
        writer.AddOneByteExtension(1, [1, 2, 3]);
        writer.AddOneByteExtension(3, [0, 7]);
        writer.AddOneByteExtension(14, new byte[16]);
        int length = writer.Complete();
        yield return [.. buffer.AsSpan(0, length), 0x90, 0x80, 0x7F, 0x55, 0x00, 0x01];
    }

    public override bool Run(byte[] input)
    {
        PacketClass packetClass = Demultiplexer.Classify(input);
        bool layout = SrtpPacketLayout.TryReadRtp(input, out _, out _, out int srtpHeaderLength);
        H264Payload.IsKeyframe(input);
        Vp8PayloadDescriptor.IsKeyframePayload(input);
        if (!RtpHeader.TryRead(input, out RtpHeader header))
        {
            return false;
        }

        Check.That(packetClass is PacketClass.Rtp or PacketClass.Rtcp, "an RTP header the demultiplexer would not route to RTP");
        Check.That(layout && srtpHeaderLength == header.HeaderLength, "SRTP sees another header length than the RTP reader");
        Check.That(input.Length == header.HeaderLength + header.PayloadLength + header.PaddingLength, "lengths do not add up");
        Check.That(header.HeaderLength >= RtpHeader.FixedLength && header.HeaderLength <= input.Length && header.PayloadLength >= 0, "header outside the packet");
        _ = header.SequenceNumber + header.Timestamp + header.Ssrc + header.PayloadType;
        for (int i = 0; i < header.CsrcCount; i++)
        {
            _ = header.GetCsrc(i);
        }

        int elements = 0;
        foreach (RtpHeaderExtension element in header.Extensions)
        {
            elements++;
            Check.That(element.ElementOffset >= header.ExtensionOffset && element.ElementOffset < header.HeaderLength, "element outside the extension");
            Check.That(element.ValueOffset + element.Value.Length <= header.HeaderLength, "value outside the extension");
        }

        for (byte id = 1; id <= 15; id++)
        {
            header.TryGetExtension(id, out _);
        }

        H264Payload.IsKeyframe(header.Payload);
        Vp8PayloadDescriptor.IsKeyframePayload(header.Payload);
        Rewrite(input, header.HeaderLength, header.PayloadLength, elements);
        return true;
    }

    /// <summary>What the forwarding path does to a packet it accepted: the result must still read the same way.</summary>
    private void Rewrite(byte[] input, int headerLength, int payloadLength, int elements)
    {
        Span<byte> copy = _copy.AsSpan(0, input.Length);
        input.CopyTo(copy);
        RtpHeaderRewriter.RewriteExtensionIds(copy, IdMap);
        RtpHeaderRewriter.TrySetExtensionValue(copy, 1, [1, 2]);
        RtpHeaderRewriter.TrySetTransportSequenceNumber(copy, 3, BinaryPrimitives.ReadUInt16BigEndian(input.AsSpan(2)));
        RtpHeaderRewriter.TrySetAbsSendTime(copy, 2, 0xABCDEF);
        RtpHeaderRewriter.SetSsrc(copy, 0x1234_5678);
        RtpHeaderRewriter.SetSequenceNumber(copy, 7);
        RtpHeaderRewriter.SetTimestamp(copy, 9);
        RtpHeaderRewriter.SetPayloadType(copy, 96);
        RtpHeaderRewriter.SetMarker(copy, true);
        Check.That(RtpHeader.TryRead(copy, out RtpHeader rewritten), "a rewritten packet no longer reads");
        Check.That(rewritten.HeaderLength == headerLength && rewritten.PayloadLength == payloadLength, "rewriting moved the payload");
        int after = 0;
        foreach (RtpHeaderExtension element in rewritten.Extensions)
        {
            after++;
            Check.That(element.Id != 0, "an element with id 0 after rewriting");
        }

        Check.That(after <= elements, "rewriting made elements appear");
    }

    /// <summary>A publisher-to-subscriber id map with dropped ids (0) and ids a one-byte element cannot carry (&gt; 14).</summary>
    private static byte[] BuildIdMap()
    {
        byte[] map = new byte[256];
        for (int i = 0; i < map.Length; i++)
        {
            map[i] = (byte)(i % 5 == 0 ? 0 : (i * 7) % 23);
        }

        return map;
    }
}
